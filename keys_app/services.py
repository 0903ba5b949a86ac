"""What can be done to keys, with the guard rails of CONTRACT.md.

A key acts only on keys it covers (APIKey.covers): it reads the secrets of, creates and
deletes only keys that can do no more than itself.
"""

from django.db import IntegrityError, transaction

from keys_app.models import APIKey, normalize_key_name
from ytdlphost.exceptions import Conflict, NotFound, NotPermitted


def key_create(
    creator: APIKey,
    name: str,
    permissions: list[str],
    request_limit=None,
    webhook_url="",
    quota_bytes=None,
):
    """A new key, and its secret; the creator can only create a key it covers."""
    new_key = APIKey(
        name=name, permissions=permissions, request_limit=request_limit, quota_bytes=quota_bytes
    )
    if beyond := creator.powers_beyond(new_key):
        raise NotPermitted(f"Cannot create a key with {'; '.join(beyond)}")
    try:
        with transaction.atomic():
            return APIKey.objects.create_key(
                name,
                permissions,
                request_limit=request_limit,
                webhook_url=webhook_url,
                quota_bytes=quota_bytes,
            )
    except IntegrityError:
        # The unique normal form of the name, not a prior lookup, decides: two concurrent
        # creations of one name (or of `Admin` beside `admin`) cannot both succeed.
        raise Conflict(f"API key '{name}' already exists") from None


def key_get(reader: APIKey, name: str) -> APIKey:
    try:
        api_key = APIKey.objects.get_by_name(name)
    except APIKey.DoesNotExist:
        raise NotFound(f"API key '{name}' not found") from None
    if beyond := reader.powers_beyond(api_key):
        raise NotPermitted(f"Cannot show the key '{api_key.name}': it has {'; '.join(beyond)}")
    return api_key


def key_delete(deleter: APIKey, name: str) -> str:
    """Delete a key the deleter covers, unless it is the last one that can create keys
    (no lock-out); returns the name it had."""
    with transaction.atomic():
        # Lock every key so two concurrent deletions cannot each leave the other as "last".
        keys = list(APIKey.objects.select_for_update().all())
        target = next((k for k in keys if k.normalized_name == normalize_key_name(name)), None)
        if target is None:
            raise NotFound(f"API key '{name}' not found")
        if beyond := deleter.powers_beyond(target):
            raise NotPermitted(f"Cannot delete the key '{target.name}': it has {'; '.join(beyond)}")
        if target.allows("create_key"):
            others = [k for k in keys if k.pk != target.pk and k.allows("create_key")]
            if not others:
                raise Conflict("Cannot delete the last API key that holds create_key")
        target.delete()
        return target.name
