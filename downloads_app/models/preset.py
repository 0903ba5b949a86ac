"""A preset: a named set of request fields for one task type, defined by the operator (the
admin, `manage.py load_presets`) so that nobody types a format selector; a request or a
subscription names it with `preset` (downloads_app/presets.py applies it)."""

from django.core.exceptions import ValidationError
from django.db import models

from downloads_app.models.task import TaskType

# As long as Task.preset, which keeps the name of the preset a task was asked with.
PRESET_NAME_MAX_LENGTH = 100


class Preset(models.Model):
    """`options` holds request fields of `task_type` as a request would send them (no
    `url`), checked by that type's own request serializer (presets.check_options), so
    that a field added to a request is presetable without a change here."""

    name = models.CharField(max_length=PRESET_NAME_MAX_LENGTH, unique=True)
    description = models.TextField(blank=True)
    task_type = models.CharField(max_length=20, choices=TaskType.choices)
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Request fields of the task type, as a JSON object: {"video_format": '
        '"bestvideo[height<=1080]", "output_format": "mp4"}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        # Imported here: the serializers import the models.
        from downloads_app import presets

        # A request names it exactly: " HD" and "HD" would read as one name in a list.
        self.name = self.name.strip()
        if not self.name:
            raise ValidationError({"name": "The name must not be blank."})
        if self.options is None:  # the admin's form, its options field left empty
            self.options = {}
        if self.task_type:  # else the field's own error says it is missing
            try:
                self.options = presets.check_options(self.task_type, self.options)
            except presets.InvalidOptions as exc:
                raise ValidationError({exc.field: exc.messages}) from None

    @property
    def required_permissions(self) -> list[str]:
        """What a key must hold to use it: the permission that starts its tasks (a
        playlist's: its entries' type's), and `library` when it puts files there."""
        from downloads_app import presets

        return presets.required_permissions(self.task_type, self.options)

    def usable_by(self, api_key) -> bool:
        return all(api_key.allows(permission) for permission in self.required_permissions)
