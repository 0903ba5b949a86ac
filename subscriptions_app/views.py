from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from downloads_app import listing
from downloads_app.serializers import task_cursor
from subscriptions_app import archive, subscribing
from subscriptions_app.models import Subscription
from subscriptions_app.schema import SubscriptionListOutput
from subscriptions_app.serializers import (
    SubscriptionChangeInput,
    SubscriptionChangeRequest,
    SubscriptionInput,
    SubscriptionListQuery,
    SubscriptionOutput,
    SubscriptionRequest,
)
from ytdlphost.schema import BODY_ERRORS, error_responses
from ytdlphost.validation import validated

NOT_FOUND = "No such subscription, or one of another key."


def body_of(subscription: Subscription) -> dict:
    return SubscriptionOutput(archive.with_counts([subscription])[0]).data


def own_subscription(api_key, subscription_id: str) -> Subscription:
    """The key's subscription; anyone else's is 404, as if it did not exist."""
    subscription = Subscription.objects.filter(pk=subscription_id, api_key=api_key).first()
    if subscription is None:
        raise exceptions.NotFound("Subscription not found")
    return subscription


class SubscriptionsView(APIView):
    required_permission = "subscribe"

    @extend_schema(
        operation_id="subscribe",
        summary="Follow a channel, playlist or feed",
        description="Needs `subscribe` and the permission of `task_type`. The URL is listed "
        "once now (as /get_playlist lists: flat, at most PLAYLIST_MAX_ITEMS entries); a URL "
        "that lists nothing is a 400. Every `interval` seconds (plus up to a tenth, so that "
        "checks of one site spread out) a worker lists it again, and each entry it has never "
        "listed becomes a task of `task_type` with these options (request fields of that "
        "type's endpoint, over those of `preset`, checked as that endpoint checks them; "
        "null: not set), counted by the key's rate "
        "limit (what does not fit waits for the next check). Each entry is downloaded once "
        "for the life of the subscription; a failed one is retried by the next checks up "
        "to SUBSCRIPTION_ENTRY_ATTEMPTS times.",
        tags=["subscriptions"],
        request=SubscriptionRequest,
        responses={201: SubscriptionOutput, **error_responses(*BODY_ERRORS, 401, 403)},
    )
    def post(self, request):
        data = SubscriptionInput.validated_input(request.user, request.data)
        if not request.user.allows(data["task_type"]):
            raise exceptions.PermissionDenied(
                f"Insufficient permissions: needs {data['task_type']}"
            )
        backfill = data.pop("backfill")
        subscription = subscribing.subscribe(request.user, data, backfill)
        return Response(body_of(subscription), status=201)

    @extend_schema(
        operation_id="subscriptions",
        summary="The key's subscriptions, newest first",
        description="Needs `subscribe`. Pages follow `next` as `cursor`, as /tasks.",
        tags=["subscriptions"],
        parameters=[SubscriptionListQuery],
        responses={200: SubscriptionListOutput, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        query = validated(SubscriptionListQuery, request.query_params.dict())
        rows = listing.newest_first_page(
            Subscription.objects.filter(api_key=request.user), query["limit"], query.get("cursor")
        )
        rows = list(rows)
        page = archive.with_counts(rows[: query["limit"]])
        more = len(rows) > query["limit"]
        return Response(
            {
                "subscriptions": SubscriptionOutput(page, many=True).data,
                "next": task_cursor(page[-1]) if more else None,
            }
        )


class SubscriptionView(APIView):
    required_permission = "subscribe"

    @extend_schema(
        operation_id="subscription",
        summary="A subscription",
        tags=["subscriptions"],
        responses={200: SubscriptionOutput, **error_responses(401, 403, 404, e404=NOT_FOUND)},
    )
    def get(self, request, subscription_id):
        return Response(body_of(own_subscription(request.user, subscription_id)))

    @extend_schema(
        operation_id="change_subscription",
        summary="Change a subscription: interval, preset, request fields, paused",
        description="`paused: false` resumes one (paused by its key or by itself) and forgets "
        "its failed checks; a new `interval` counts from the last check. Request fields of "
        "its task type are set over its `options` (null: no longer set, the preset's or the "
        "endpoint's default applies); `preset` null or empty drops its preset.",
        tags=["subscriptions"],
        request=SubscriptionChangeRequest,
        responses={
            200: SubscriptionOutput,
            **error_responses(*BODY_ERRORS, 401, 403, 404, e404=NOT_FOUND),
        },
    )
    def patch(self, request, subscription_id):
        subscription = own_subscription(request.user, subscription_id)
        data = SubscriptionChangeInput.validated_input(subscription, request.data)
        return Response(body_of(subscribing.change(subscription, data)))

    @extend_schema(
        operation_id="unsubscribe",
        summary="Delete a subscription",
        description="With its archive; the tasks it started stay until their own cleanup "
        "(their `subscription` is gone from /status).",
        tags=["subscriptions"],
        responses={
            200: OpenApiResponse(description='`{"message": "Subscription deleted"}`'),
            **error_responses(401, 403, 404, e404=NOT_FOUND),
        },
    )
    def delete(self, request, subscription_id):
        subscribing.unsubscribe(own_subscription(request.user, subscription_id))
        return Response({"message": "Subscription deleted", "subscription_id": subscription_id})


class CheckNowView(APIView):
    required_permission = "subscribe"

    @extend_schema(
        operation_id="check_subscription",
        summary="Check a subscription now",
        description="Makes it due now; a worker checks it within moments (later when its "
        "site is being listed for another subscription). 409 when it is paused.",
        tags=["subscriptions"],
        request=None,
        responses={
            202: SubscriptionOutput,
            **error_responses(401, 403, 404, 409, e404=NOT_FOUND, e409="It is paused."),
        },
    )
    def post(self, request, subscription_id):
        subscription = own_subscription(request.user, subscription_id)
        return Response(body_of(subscribing.check_now(subscription)), status=202)
