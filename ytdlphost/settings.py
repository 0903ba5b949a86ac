"""Settings for ytdlphost.

Every setting is read from the environment (ytdlphost/env.py), with the default documented
in README's configuration table. A value that cannot be parsed becomes a system-check
error, not a traceback.
"""

from pathlib import Path

import dj_database_url

from ytdlphost import state
from ytdlphost.env import (  # noqa: F401  (SETTINGS_ERRORS: reported by checks.py)
    SETTINGS_ERRORS,
    env_bool,
    env_counts,
    env_list,
    env_number,
    env_size,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Where state lives (created by state.prepare() on start, not here) -----------------

DATA_DIR = state.data_dir()
DOWNLOAD_DIR = state.download_dir()

SECRET_KEY = state.secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*")
PORT = env_number("PORT", 5000, minimum=1)
# Threads per web process for the database work of the hot GETs and of the long polls'
# checks (ytdlphost/fast_path.py); requests wait in coroutines, not threads.
WEB_THREADS = env_number("WEB_THREADS", 8, minimum=1)
# Seconds a client may take to send a request's headers, or its body, and may stop reading
# an answer, before it is disconnected (ytdlphost/slow_clients.py).
SLOW_CLIENT_TIMEOUT = env_number("SLOW_CLIENT_TIMEOUT", 30.0, cast=float, minimum=1.0)
# `GET /tasks?wait=S` requests one key (whatever sessions or X-API-Key they come with) may
# have waiting at once in each web process; the next is refused with 429. Each wake of a
# key's waiters evaluates each one's page again, so this bounds what one key costs.
MAX_TASK_LIST_WAITERS = env_number("MAX_TASK_LIST_WAITERS", 50, minimum=1)
# Fast routes left to their views, by the first segment of their path (`status,tasks`):
# to measure a fast route against its view through the same server (bench/fast_routes.py).
FAST_ROUTES_DISABLED = env_list("FAST_ROUTES_DISABLED", "")

# --- The service's own settings (names from the yt-dlp-host API document) ----------

# Minutes after finishing that a task and its files are removed; also the rate-limit window.
TASK_CLEANUP_TIME = env_number("TASK_CLEANUP_TIME", 10.0, cast=float, minimum=0.0)
# Days a cleaned-up task's id is remembered, so that its key hears "expired" (410), not
# "not found" (404).
TASK_TOMBSTONE_DAYS = env_number("TASK_TOMBSTONE_DAYS", 7.0, cast=float, minimum=0.0)
# Task-creating requests per key in any window of TASK_CLEANUP_TIME minutes.
REQUEST_LIMIT = env_number("REQUEST_LIMIT", 20, minimum=1)
# Byte quotas (downloads_app/quotas.py): a key's quota_bytes, and TOTAL_QUOTA_BYTES for
# every key together (0: none), per rolling window of QUOTA_WINDOW minutes (a day).
QUOTA_WINDOW = env_number("QUOTA_WINDOW", 1440.0, cast=float, minimum=0.01)
TOTAL_QUOTA_BYTES = env_size("TOTAL_QUOTA_BYTES", "0")
# Concurrent downloads (django-q2 workers) per qcluster process.
MAX_WORKERS = env_number("MAX_WORKERS", 4, minimum=1)
# Tasks of one key running at once, across every qcluster: the key's further tasks wait
# for one of its own to end, so one key cannot occupy every worker.
MAX_TASKS_PER_KEY = env_number("MAX_TASKS_PER_KEY", max(1, MAX_WORKERS // 2), minimum=1)
# Tasks of one site (a registrable domain: downloads_app/sites.py) running at once,
# across every qcluster, as `youtube.com=2,*=4`: `*` is every other site; empty, no cap.
# A site's further tasks wait for one of its own to end.
SITE_CONCURRENCY = env_counts("SITE_CONCURRENCY", "")
# A site that refuses a task (rate_limited, bot_check) has its other tasks held back for
# the Retry-After it sent, else for this many seconds, doubled at each refusal in a row;
# either is cut to SITE_BACKOFF_MAX (downloads_app/site_limits.py).
SITE_BACKOFF_SECONDS = env_number("SITE_BACKOFF_SECONDS", 60.0, cast=float, minimum=1.0)
SITE_BACKOFF_MAX = env_number("SITE_BACKOFF_MAX", 3600.0, cast=float, minimum=1.0)
# Secret of the `admin` key created on the first start of an empty database.
ADMIN_API_KEY = env_str("ADMIN_API_KEY", "")
# The Django admin's superuser, created or updated by `manage.py ensure_admin_user`
# (run.sh runs it) when both are set.
ADMIN_USER = env_str("ADMIN_USER", "")
ADMIN_PASSWORD = env_str("ADMIN_PASSWORD", "")
# The Django admin's login: this many failures for one username or from one address
# within ADMIN_LOGIN_WINDOW minutes refuse further attempts (keys_app/login_throttle.py).
ADMIN_LOGIN_MAX_FAILURES = env_number("ADMIN_LOGIN_MAX_FAILURES", 5, minimum=1)
ADMIN_LOGIN_WINDOW = env_number("ADMIN_LOGIN_WINDOW", 15.0, cast=float, minimum=0.1)
# Allow task URLs that resolve to loopback/private/internal addresses (tests, demos).
ALLOW_PRIVATE_URLS = env_bool("ALLOW_PRIVATE_URLS", False)
# Fernet keys for the encrypted copy of key secrets; first encrypts, all decrypt.
# Empty: one key derived from SECRET_KEY.
KEY_ENCRYPTION_KEYS = env_list("KEY_ENCRYPTION_KEYS", "")

# Longest a task may run (seconds) before it is stopped and ends as an error.
TASK_TIME_LIMIT = env_number("TASK_TIME_LIMIT", 10800, minimum=10)
# A processing task whose worker has not reported for this long (seconds) was interrupted
# (the worker's machine went down): it is run again once, then failed. Workers beat every
# min(5, STALE_TASK_TIMEOUT / 3) seconds. A dead worker of the recovering cluster's own
# host is known at once, without waiting for this (downloads_app/processes.py).
STALE_TASK_TIMEOUT = env_number("STALE_TASK_TIMEOUT", 30, cast=float, minimum=3.0)
# Seconds metadata extraction may take (all of a get_info task, the start of a download).
EXTRACTION_TIMEOUT = env_number("EXTRACTION_TIMEOUT", 120.0, cast=float, minimum=1.0)
# Seconds a download may go without receiving a byte before it is stopped as stalled.
STALL_TIMEOUT = env_number("STALL_TIMEOUT", 60.0, cast=float, minimum=1.0)
# Largest file a task may download (0: no limit), and the free disk a download must leave.
MAX_FILESIZE = env_size("MAX_FILESIZE", "0")
MIN_FREE_DISK = env_size("MIN_FREE_DISK", "1G")
# Largest web page, manifest or playlist a task reads into memory (0: no limit); media
# files are streamed to disk and bounded by MAX_FILESIZE instead.
MAX_PAGE_SIZE = env_size("MAX_PAGE_SIZE", "10M")
# Networks that task URLs may reach even though they are private (CIDRs, comma-separated),
# e.g. a media server on the LAN. ALLOW_PRIVATE_URLS=true allows every address.
ALLOWED_PRIVATE_NETWORKS = env_list("ALLOWED_PRIVATE_NETWORKS", "")

# Server-side yt-dlp configuration; never taken from requests.
# Also ffmpeg's, behind the egress relay; each target is checked before it is proxied.
YTDLP_PROXY = env_str("YTDLP_PROXY", "")
YTDLP_COOKIES_FILE = env_str("YTDLP_COOKIES_FILE", "")  # Netscape cookies.txt
YTDLP_IMPERSONATE = env_str("YTDLP_IMPERSONATE", "")  # e.g. "chrome" (needs curl_cffi)
YTDLP_EXTRACTOR_ARGS = env_str("YTDLP_EXTRACTOR_ARGS", "")  # "youtube:player_client=web"
YTDLP_JS_RUNTIMES = env_list("YTDLP_JS_RUNTIMES", "")  # e.g. "deno" or "node:/usr/bin/node"
# The SponsorBlock API that the `sponsorblock` request option asks (yt-dlp's
# --sponsorblock-api), e.g. a mirror; its requests pass the connection guard.
SPONSORBLOCK_API = env_url("SPONSORBLOCK_API", "https://sponsor.ajay.app")

# Where the manual (docs/) is published, e.g. a repository's ".../blob/main/docs": the web
# page links a failed task's remedy there. Empty: it names the document instead.
DOCS_URL = env_str("DOCS_URL", "")

# yt-dlp updated at runtime (downloads_app/ytdlp_updates.py): `stable`, `nightly`, a version
# to pin, or `off` (no schedule; `manage.py update_ytdlp` still works). Checked every
# YTDLP_UPDATE_INTERVAL hours; a new version must pass the canary (YTDLP_CANARY_URLS, or
# the built-in self-test when empty) before it becomes current.
YTDLP_UPDATE = env_str("YTDLP_UPDATE", "stable").strip().lower()
YTDLP_UPDATE_INTERVAL = env_number("YTDLP_UPDATE_INTERVAL", 24.0, cast=float, minimum=0.1)
YTDLP_CANARY_URLS = env_list("YTDLP_CANARY_URLS", "")
# An updated version is rolled back on its own when, of at least YTDLP_ROLLBACK_MIN_TASKS
# finished tasks it ran, a share above YTDLP_ROLLBACK_SHARE (and above the previous
# version's) failed with error_code `internal`.
YTDLP_ROLLBACK_MIN_TASKS = env_number("YTDLP_ROLLBACK_MIN_TASKS", 5, minimum=1)
YTDLP_ROLLBACK_SHARE = env_number("YTDLP_ROLLBACK_SHARE", 0.5, cast=float, minimum=0.0)

# Prometheus metrics at /metrics. The web processes and workers of one host share
# counters through files in DATA_DIR/metrics (prometheus_client's multiprocess mode).
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
PROMETHEUS_MULTIPROC_DIR = state.metrics_dir()  # created by state.prepare()
# One JSON object per log line, for log collectors.
LOG_JSON = env_bool("LOG_JSON", False)

# Longest live recording a request may ask for (seconds).
LIVE_MAX_DURATION = env_number("LIVE_MAX_DURATION", 3600, cast=float, minimum=1.0)
# Largest thumbnail a worker fetches for a task's page and cover (bytes); a larger one
# is skipped, and the task goes without.
THUMBNAIL_MAX_BYTES = env_number("THUMBNAIL_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# Most entries one playlist (POST /get_playlist) may have; a larger one is refused, and
# its `items` can choose some.
PLAYLIST_MAX_ITEMS = env_number("PLAYLIST_MAX_ITEMS", 100, minimum=1)
# /files/ URLs are capabilities (the task id is the secret); true also demands the key
# that created the task (or one holding get_keys).
FILES_REQUIRE_KEY = env_bool("FILES_REQUIRE_KEY", False)
# The library folder (downloads_app/library.py): where a task asked with `library: true`
# also places its file, kept by cleanup; unset, no library. Its names: LIBRARY_TEMPLATE,
# of the safe subset of yt-dlp's output template (downloads_app/naming.py), `/` between
# folder levels; checked at start-up (downloads_app/checks.py).
LIBRARY_DIR = Path(env_str("LIBRARY_DIR", "")).resolve() if env_str("LIBRARY_DIR", "") else None
LIBRARY_TEMPLATE = env_str(
    "LIBRARY_TEMPLATE",
    "%(uploader|Unknown)s/%(upload_date>%Y-%m-%d|)s %(title)s [%(id)s].%(ext)s",
)

# Where finished files are kept (downloads_app/storage.py): `local`, DOWNLOAD_DIR on a disk
# every web and worker machine shares; or `s3`, a bucket (django-storages' S3 backend with
# its own AWS_* settings), which workers upload each finished file to and delete their
# local copy of, so that workers need only a scratch disk and web machines none.
STORAGE = env_str("STORAGE", "local").strip().lower()
if STORAGE not in ("local", "s3"):
    SETTINGS_ERRORS.append(f"STORAGE={STORAGE!r} is neither local nor s3")
    STORAGE = "local"
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
# Empty: AWS itself. Any S3-compatible server (MinIO, R2, B2, Ceph RGW) by its URL.
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL", "") or None
# Empty: boto3 finds credentials itself (its environment variables, an instance role).
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", "") or None
# `path` for most self-hosted servers (MinIO, Ceph RGW), `virtual` or empty for AWS.
AWS_S3_ADDRESSING_STYLE = env_str("AWS_S3_ADDRESSING_STYLE", "") or None
# The key prefix of every object ("ytdlphost" puts a task's files under ytdlphost/<id>/).
AWS_LOCATION = env_str("AWS_LOCATION", "").strip("/")
# Presigned URLs are signed with SigV4, which every S3-compatible server accepts.
AWS_S3_SIGNATURE_VERSION = "s3v4"
# Seconds a presigned URL given by /files is valid: a download must start by then.
AWS_QUERYSTRING_EXPIRE = env_number("AWS_QUERYSTRING_EXPIRE", 900, minimum=1)
# /files redirects to a presigned URL (the bytes never pass through the web side); false
# streams the object through the web side, with Range support.
S3_PRESIGNED_REDIRECT = env_bool("S3_PRESIGNED_REDIRECT", True)
# The upload: parts of this size (S3 takes at least 5 MiB but for the last), this many at
# once.
S3_MULTIPART_CHUNKSIZE = env_size("S3_MULTIPART_CHUNKSIZE", "16M")
S3_UPLOAD_CONCURRENCY = env_number("S3_UPLOAD_CONCURRENCY", 4, minimum=1)

# Webhooks (downloads_app/webhooks.py): seconds each delivery attempt may take, how many
# attempts an event gets, and the first retry's delay, doubled after each failure
# (60 s and 7 attempts: retries 1, 3, 7, 15, 31 and 63 minutes after the first).
WEBHOOK_TIMEOUT = env_number("WEBHOOK_TIMEOUT", 10.0, cast=float, minimum=0.1)
WEBHOOK_MAX_ATTEMPTS = env_number("WEBHOOK_MAX_ATTEMPTS", 7, minimum=1)
WEBHOOK_BACKOFF_SECONDS = env_number("WEBHOOK_BACKOFF_SECONDS", 60.0, cast=float, minimum=0.0)

# Subscriptions (subscriptions_app): the shortest and the default seconds between checks
# of one, how many checks in a row may fail before it pauses itself, and how many tasks
# an entry gets (a failed one is retried by the next checks).
SUBSCRIPTION_MIN_INTERVAL = env_number("SUBSCRIPTION_MIN_INTERVAL", 900, minimum=1)
SUBSCRIPTION_DEFAULT_INTERVAL = env_number(
    "SUBSCRIPTION_DEFAULT_INTERVAL", 3600, minimum=SUBSCRIPTION_MIN_INTERVAL
)
SUBSCRIPTION_MAX_FAILED_CHECKS = env_number("SUBSCRIPTION_MAX_FAILED_CHECKS", 5, minimum=1)
SUBSCRIPTION_ENTRY_ATTEMPTS = env_number("SUBSCRIPTION_ENTRY_ATTEMPTS", 3, minimum=1)
# Notifications (subscriptions_app/notify.py) through Apprise: its URLs, separated by
# spaces or commas (ntfy://, gotify://, discord://, tgram://, mailto://, json://...), and
# which events: `downloaded`, `failed` (a subscription's task), `check_failed`, `paused`.
NOTIFY_URLS = env_str("NOTIFY_URLS", "")
NOTIFY_ON = env_list("NOTIFY_ON", "downloaded,failed,paused")

# --- django-q2 ------------------------------------------------------------------------
# ORM broker on the default database; workers run tasks from downloads_app/tasks.py.
# django-q2's timeout must exceed the longest task, and retry must exceed timeout, or a
# long download is delivered to a second worker while the first still runs it.
Q_CLUSTER = {
    "name": "ytdlphost",
    "workers": MAX_WORKERS,
    "orm": "default",
    "timeout": TASK_TIME_LIMIT + 60,
    "retry": TASK_TIME_LIMIT + 120,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 100,
    "ack_failures": True,
    "poll": 0.2,
    # The admin's heading for django-q2's own tables: its "Queued tasks" and "Failed tasks"
    # are jobs of the queue, not the downloads (under "Downloads"), and must not read as such.
    "label": "Background queue",
}
# REDIS_URL moves the queue to Redis (and Django's cache, below): every web process and
# every qcluster, on any machine, then shares one queue, and each queued task is popped by
# exactly one cluster (BLPOP). Redis never redelivers, so retry does not apply there.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    SETTINGS_ERRORS.append(f"REDIS_URL={REDIS_URL!r} is not a redis://, rediss:// or unix:// URL")
    REDIS_URL = ""
if REDIS_URL:
    del Q_CLUSTER["orm"]
    Q_CLUSTER["redis"] = REDIS_URL
else:
    # The ORM broker, woken at once by tasks queued on the same host (downloads_app/broker.py).
    Q_CLUSTER["broker_class"] = "downloads_app.broker.WakingORM"

# --- Django ------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally for /docs
    "ytdlphost",
    "keys_app",
    "downloads_app",
    "subscriptions_app",
    # After downloads_app, whose `qcluster` command (recovery at start) replaces its own:
    # of two apps' commands of one name, Django runs the earlier app's.
    "django_q",
    "legacy_import",
    "page_app",
]

MIDDLEWARE = [
    "ytdlphost.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's static files under gunicorn, without a separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Never cached and Secure over HTTPS: every response carrying the page's session.
    "ytdlphost.session_cookies.SessionCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ytdlphost.urls"
WSGI_APPLICATION = "ytdlphost.wsgi.application"
# The API's routes have no trailing slash; never redirect a POST to a slashed URL.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
# Server databases (PostgreSQL): persistent connections, checked before each reuse so a
# restarted or failed-over server costs a reconnect, not an error.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Kept open too: opening a SQLite connection and running the PRAGMAs below costs
    # about as much as the queries of a /status request (bench/run.py).
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy
        # timeout instead of failing with "database is locked" on lock upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)

# A file cache in DATA_DIR by default, shared by the processes of one host: django-q2's
# ORM broker keeps the clusters' status there, which /healthz reads to see that a worker
# cluster is alive. With REDIS_URL one cache shared by every process on every machine.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ytdlphost",
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# WhiteNoise serves the admin's files straight from the installed apps: no collectstatic.
WHITENOISE_USE_FINDERS = True

# JSON bodies of this API are small; anything larger is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_number("MAX_REQUEST_BODY", 65536, minimum=1024)

REST_FRAMEWORK = {
    # X-API-Key first; else the web page's session, with its CSRF token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "keys_app.authentication.APIKeyAuthentication",
        "keys_app.authentication.SessionKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["keys_app.permissions.HasEndpointPermission"],
    "DEFAULT_PARSER_CLASSES": ["ytdlphost.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "ytdlphost.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema (/openapi.json) and Swagger UI (/docs); views describe themselves
# with @extend_schema, keys_app/schema.py declares the X-API-Key scheme.
SPECTACULAR_SETTINGS = {
    "TITLE": "ytdlphost",
    "VERSION": "1.0.0",
    "DESCRIPTION": "A self-hosted HTTP API around yt-dlp, compatible with yt-dlp-host. "
    'Every request carries an `X-API-Key`; every error is JSON `{"error": "..."}`; '
    "unknown fields in a body are refused with 400.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],  # the schema and the UI are public
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "TAGS": [
        {"name": "tasks", "description": "Create download tasks and follow them."},
        {"name": "files", "description": "Fetch a completed task's file."},
        {"name": "keys", "description": "Manage API keys."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "PermissionEnum": "keys_app.models.PERMISSIONS",
        "TaskStatusEnum": "downloads_app.models.TaskStatus",
        "TaskTypeEnum": "downloads_app.models.TaskType",
        "WebhookStateEnum": "downloads_app.models.WebhookState",
        "VideoOutputFormatEnum": "downloads_app.serializers.VIDEO_OUTPUT_FORMATS",
        "AudioOutputFormatEnum": "downloads_app.serializers.AUDIO_OUTPUT_FORMATS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ytdlphost.schema.forbid_unknown_request_fields",
        "ytdlphost.schema.document_front_end_errors",
    ],
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "ytdlphost.logging.JSONFormatter"},
    },
    "filters": {
        "task_ids": {"()": "ytdlphost.logging.RedactTaskIdsInPaths"},
        "queue_routine": {"()": "ytdlphost.logging.QueueRoutineAsDebug"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
            "filters": ["task_ids"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django-q": {"level": LOG_LEVEL, "filters": ["queue_routine"]},
    },
}
