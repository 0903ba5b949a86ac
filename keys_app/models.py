from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from keys_app import crypto

# The nine permissions of the yt-dlp-host API document, in its order.
PERMISSIONS = (
    "create_key",
    "delete_key",
    "get_key",
    "get_keys",
    "get_video",
    "get_audio",
    "get_live_video",
    "get_live_audio",
    "get_info",
)

# last_used_at is a hint for the operator, not an audit log: writing it on every request
# would turn each poll of /status into a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def validate_permissions(value):
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValidationError("Permissions must be a list of permission names.")
    unknown = sorted(set(value) - set(PERMISSIONS))
    if unknown:
        raise ValidationError(f"Unknown permissions: {', '.join(unknown)}")


class APIKeyManager(models.Manager):
    def create_key(self, name, permissions, secret=None, request_limit=None):
        """Create a key; returns (api_key, secret). The secret is not kept in plaintext."""
        secret = secret or crypto.generate_secret()
        api_key = self.model(name=name, permissions=list(permissions), request_limit=request_limit)
        api_key.set_secret(secret)
        api_key.save(using=self._db)
        return api_key, secret

    def get_by_secret(self, secret):
        """The key whose secret this is, or None."""
        digest = crypto.digest_secret(secret)
        api_key = self.filter(key_digest=digest).first()
        if api_key is None or not crypto.digests_match(secret, api_key.key_digest):
            return None
        return api_key


class APIKey(models.Model):
    name = models.CharField(max_length=100, unique=True)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    key_encrypted = models.TextField(editable=False)
    permissions = models.JSONField(default=list, validators=[validate_permissions])
    request_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Task-creating requests allowed per TASK_CLEANUP_TIME window. "
        "Empty: the REQUEST_LIMIT setting.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = APIKeyManager()

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self):
        return self.name

    @property
    def is_authenticated(self):
        # DRF and Django treat request.user as authenticated through this attribute.
        return True

    def set_secret(self, secret):
        self.key_digest = crypto.digest_secret(secret)
        self.key_encrypted = crypto.encrypt_secret(secret)

    @property
    def secret(self):
        """The plaintext secret, or None when the encryption key that sealed it is gone."""
        return crypto.decrypt_secret(self.key_encrypted)

    def allows(self, permission):
        return permission in self.permissions

    def allows_all(self, permissions):
        return set(permissions) <= set(self.permissions)

    def touch(self):
        """Record a use, at most once per LAST_USED_RESOLUTION."""
        now = timezone.now()
        if self.last_used_at and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        APIKey.objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
