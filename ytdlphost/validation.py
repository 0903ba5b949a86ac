from rest_framework import serializers


def validated(serializer_class, data, context=None) -> dict:
    """The serializer's validated data, or a 400 naming what is wrong.

    Unknown fields are refused rather than ignored: a misspelt optional field
    (`ouput_format`) would otherwise be silently dropped.
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError("Request body must be a JSON object")
    unknown = sorted(set(data) - set(serializer_class().fields))
    if unknown:
        raise serializers.ValidationError(f"Unknown fields: {', '.join(map(str, unknown))}")
    serializer = serializer_class(data=data, context=context or {})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
