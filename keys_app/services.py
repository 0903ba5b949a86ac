"""What can be done to keys, with the guard rails of CONTRACT.md."""

from django.db import IntegrityError, transaction
from rest_framework import exceptions, status

from keys_app.models import APIKey


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict"


def key_create(creator: APIKey, name: str, permissions: list[str], request_limit=None):
    """A new key, and its secret; the creator can only grant what it holds itself."""
    not_held = [p for p in permissions if not creator.allows(p)]
    if not_held:
        raise exceptions.PermissionDenied(
            f"Cannot grant permissions you do not hold: {', '.join(not_held)}"
        )
    try:
        with transaction.atomic():
            return APIKey.objects.create_key(name, permissions, request_limit=request_limit)
    except IntegrityError:
        # The unique name, not a prior lookup, decides: two concurrent creations of one
        # name cannot both succeed.
        raise Conflict(f"API key '{name}' already exists") from None


def key_get(name: str) -> APIKey:
    try:
        return APIKey.objects.get(name=name)
    except APIKey.DoesNotExist:
        raise exceptions.NotFound(f"API key '{name}' not found") from None


def key_delete(name: str) -> None:
    """Delete a key, unless it is the last one that can create keys (no lock-out)."""
    with transaction.atomic():
        # Lock every key so two concurrent deletions cannot each leave the other as "last".
        keys = list(APIKey.objects.select_for_update().all())
        target = next((k for k in keys if k.name == name), None)
        if target is None:
            raise exceptions.NotFound(f"API key '{name}' not found")
        if target.allows("create_key"):
            others = [k for k in keys if k.pk != target.pk and k.allows("create_key")]
            if not others:
                raise Conflict("Cannot delete the last API key that holds create_key")
        target.delete()
