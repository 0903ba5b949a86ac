"""Answers of /subscriptions that only the OpenAPI schema describes."""

from rest_framework import serializers

from subscriptions_app.serializers import SubscriptionOutput


class SubscriptionListOutput(serializers.Serializer):
    subscriptions = SubscriptionOutput(many=True, help_text="Newest first.")
    next = serializers.CharField(
        allow_null=True, help_text="The `cursor` of the next page; null on the last page."
    )

    class Meta:
        ref_name = "SubscriptionList"
