"""The app's models, one module per concern; imported from here (`from
downloads_app.models import Task`), which is also where Django looks for them."""

from downloads_app.models.operations import (
    Site,
    TaskRequest,
    YtdlpEvent,
    mark_renamed_key_tasks,
)
from downloads_app.models.preset import PRESET_NAME_MAX_LENGTH, Preset
from downloads_app.models.storage import BucketDeletion
from downloads_app.models.task import (
    AUDIO_TYPES,
    CANCELLED,
    FILE_STEMS,
    LISTED_DELIVERY_FIELDS,
    LISTED_FIELDS,
    LISTED_NAMES,
    LIVE_TYPES,
    PLAYLIST_CHILD_TYPES,
    PLAYLIST_ENTRY_FIELDS,
    PLAYLIST_FILE_NAME,
    TITLE_MAX_LENGTH,
    VIDEO_TYPES,
    Task,
    TaskQuerySet,
    TaskStatus,
    TaskTombstone,
    TaskType,
    new_listed_version,
    new_task_id,
)
from downloads_app.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryQuerySet,
    WebhookState,
    new_webhook_id,
)

__all__ = [
    "AUDIO_TYPES",
    "BucketDeletion",
    "CANCELLED",
    "FILE_STEMS",
    "LISTED_DELIVERY_FIELDS",
    "LISTED_FIELDS",
    "LISTED_NAMES",
    "LIVE_TYPES",
    "PLAYLIST_CHILD_TYPES",
    "PLAYLIST_ENTRY_FIELDS",
    "PLAYLIST_FILE_NAME",
    "PRESET_NAME_MAX_LENGTH",
    "TITLE_MAX_LENGTH",
    "VIDEO_TYPES",
    "Preset",
    "Site",
    "Task",
    "TaskQuerySet",
    "TaskRequest",
    "TaskStatus",
    "TaskTombstone",
    "TaskType",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryQuerySet",
    "WebhookState",
    "YtdlpEvent",
    "mark_renamed_key_tasks",
    "new_listed_version",
    "new_task_id",
    "new_webhook_id",
]
