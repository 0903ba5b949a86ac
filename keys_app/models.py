import unicodedata
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from keys_app import crypto, webhook_policy

# The nine permissions of the yt-dlp-host API document, in its order.
YTDLP_HOST_PERMISSIONS = (
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
# Then this service's own: `subscribe` (/subscriptions, with the task type's permission),
# `library` (`library: true` on a task: its file also placed in LIBRARY_DIR).
PERMISSIONS = (*YTDLP_HOST_PERMISSIONS, "subscribe", "library")

# last_used_at is a hint for the operator, not an audit log: writing it on every request
# would turn each poll of /status into a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def validate_permissions(value):
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValidationError("Permissions must be a list of permission names.")
    unknown = sorted(set(value) - set(PERMISSIONS))
    if unknown:
        raise ValidationError(f"Unknown permissions: {', '.join(unknown)}")


NAME_MAX_LENGTH = 100
# Secrets given by hand (ADMIN_API_KEY, create_admin_key --key, a legacy import) must be at
# least this long; generated ones are far longer.
MIN_SECRET_LENGTH = 16


def normalize_key_name(name: str) -> str:
    """The form in which two key names are the same name: Unicode NFKC, case-folded.

    `ａｄｍｉｎ`, `Admin` and `admin` are one name, so no key can pass for another in a
    listing or in the admin. Case folding can leave text that NFKC changes again, hence the
    second pass (Unicode's NFKC_Casefold does the same).
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def validate_key_name(name: str) -> None:
    # NFKC expands some characters up to 18-fold; the normal form must fit its column.
    if len(normalize_key_name(name)) > NAME_MAX_LENGTH:
        raise ValidationError(
            f"The name is longer than {NAME_MAX_LENGTH} characters once normalised."
        )


class APIKeyManager(models.Manager):
    def create_key(
        self, name, permissions, secret=None, request_limit=None, webhook_url="", quota_bytes=None
    ):
        """Create a key; returns (api_key, secret). The secret is not kept in plaintext."""
        secret = secret or crypto.generate_secret()
        api_key = self.model(
            name=name,
            permissions=list(permissions),
            request_limit=request_limit,
            webhook_url=webhook_url,
            quota_bytes=quota_bytes,
        )
        api_key.set_secret(secret)
        api_key.save(using=self._db)
        return api_key, secret

    def get_by_name(self, name):
        """The key of this name, in any spelling with the same normal form; or DoesNotExist."""
        return self.get(normalized_name=normalize_key_name(name))

    def get_by_secret(self, secret):
        """The key whose secret this is, or None."""
        digest = crypto.digest_secret(secret)
        # get(), not first(): a unique column needs no ORDER BY, which costs the ORM more
        # than the query costs SQLite (every request runs this).
        try:
            api_key = self.get(key_digest=digest)
        except self.model.DoesNotExist:
            return None
        if not crypto.digests_match(secret, api_key.key_digest):
            return None
        return api_key


class APIKey(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True, validators=[validate_key_name])
    # The uniqueness that matters: set from `name` on every save.
    normalized_name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True, editable=False)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    key_encrypted = models.TextField(editable=False)
    permissions = models.JSONField(default=list, validators=[validate_permissions])
    request_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Task-creating requests allowed per TASK_CLEANUP_TIME window. "
        "Empty: the REQUEST_LIMIT setting. 0: no limit.",
    )
    quota_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Bytes the key's tasks may download per QUOTA_WINDOW (rolling). "
        "Empty or 0: no quota of its own (TOTAL_QUOTA_BYTES, the server's, still applies).",
    )
    webhook_url = models.TextField(
        blank=True,
        validators=[webhook_policy.validate_webhook_url],
        help_text="Where the events of this key's tasks are sent when a task names no "
        "webhook_url of its own. Empty: none.",
    )
    # The Standard Webhooks signing secret (whsec_...), Fernet-encrypted like key_encrypted;
    # generated on the first save (rotate_webhook_secret replaces it).
    webhook_secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = APIKeyManager()

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.normalized_name = normalize_key_name(self.name)
        if not self.webhook_secret_encrypted:  # every way of creating a key comes here
            self.set_webhook_secret(webhook_policy.generate_signing_secret())
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "normalized_name"}
        super().save(*args, **kwargs)

    def validate_unique(self, exclude=None):
        # The admin's form validates `name` only; a name equal to another once normalised
        # must be its error, not an IntegrityError.
        super().validate_unique(exclude)
        if exclude and "name" in exclude:
            return
        clash = APIKey.objects.filter(normalized_name=normalize_key_name(self.name))
        if clash.exclude(pk=self.pk).exists():
            raise ValidationError({"name": "An API key with this name already exists."})

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

    def set_webhook_secret(self, webhook_secret):
        self.webhook_secret_encrypted = crypto.encrypt_secret(webhook_secret)

    @property
    def webhook_secret(self):
        """The plaintext signing secret, or None when its encryption key is gone."""
        return crypto.decrypt_secret(self.webhook_secret_encrypted)

    def rotate_webhook_secret(self) -> str:
        """A new signing secret, saved; returns it. Webhooks sent from now on, retries of
        earlier events included, are signed with it."""
        webhook_secret = webhook_policy.generate_signing_secret()
        self.set_webhook_secret(webhook_secret)
        self.save(update_fields=["webhook_secret_encrypted"])
        return webhook_secret

    def allows(self, permission):
        return permission in self.permissions

    @property
    def sees_every_task(self) -> bool:
        """get_keys shows every key's tasks (/status, /files with FILES_REQUIRE_KEY, and
        /tasks with all=true); any other key sees only its own."""
        return self.allows("get_keys")

    def may_see(self, owned) -> bool:
        """Whether this key may see `owned`, a task or what is left of one (anything with
        an api_key_id): the rule of the views and of their fast routes."""
        return owned.api_key_id == self.pk or self.sees_every_task

    @property
    def effective_request_limit(self) -> int | None:
        """Task-creating requests per window; None: no limit (request_limit 0)."""
        if self.request_limit is None:
            return settings.REQUEST_LIMIT
        return self.request_limit or None

    @property
    def effective_quota_bytes(self) -> int | None:
        """Bytes per QUOTA_WINDOW; None: no quota of its own (quota_bytes empty or 0)."""
        return self.quota_bytes or None

    def powers_beyond(self, other: "APIKey") -> list[str]:
        """What `other` could do that this key cannot, in words; empty when it covers it."""
        beyond = []
        if missing := [p for p in other.permissions if not self.allows(p)]:
            beyond.append(f"permissions you do not hold: {', '.join(missing)}")
        theirs, own = other.effective_request_limit, self.effective_request_limit
        if own is not None and (theirs is None or theirs > own):
            limit = "no request limit" if theirs is None else f"a request limit of {theirs}"
            beyond.append(f"{limit}, above your own {own}")
        theirs, own = other.effective_quota_bytes, self.effective_quota_bytes
        if own is not None and (theirs is None or theirs > own):
            quota = "no byte quota" if theirs is None else f"a byte quota of {theirs}"
            beyond.append(f"{quota}, above your own {own}")
        return beyond

    def covers(self, other: "APIKey") -> bool:
        """Whether this key may see, create or delete `other`.

        A key may act only on keys that can do no more than itself: every permission of
        `other` is its own, and `other`'s request limit and byte quota are no higher than
        its own. Otherwise
        reading a secret, creating a key or deleting one would be a way to more power (or,
        for deletion, to take power away from a stronger holder).
        """
        return not self.powers_beyond(other)

    def touch(self):
        """Record a use, at most once per LAST_USED_RESOLUTION."""
        now = timezone.now()
        if self.last_used_at and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        APIKey.objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now


class AdminLoginFailure(models.Model):
    """A failed (or still running) login to the Django admin, or sign-in on the web page,
    for their throttle (keys_app/login_throttle.py). Rows older than ADMIN_LOGIN_WINDOW
    are removed."""

    username = models.CharField(max_length=150, db_index=True)  # case-folded; page: empty
    address = models.CharField(max_length=45, db_index=True)  # REMOTE_ADDR
    attempted_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.username} from {self.address} at {self.attempted_at}"
