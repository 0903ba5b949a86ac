"""Request fields shared by the task endpoints' serializers (serializers.py) and the
option modules they are made of (media_options.py), which serializers.py imports."""

from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    """true or false; not "yes", 1 or "on", which DRF would otherwise accept."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise serializers.ValidationError("must be true or false")
        return data
