import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from downloads_app.models import Preset

# What a preset of the file may say (GET /presets answers the same shape).
PRESET_KEYS = {"name", "description", "task_type", "options"}


class Command(BaseCommand):
    help = (
        "Create or update presets, by name, from a JSON file: a list of {name, "
        'description, task_type, options} objects, or {"presets": [...]} as GET /presets '
        "answers. All or nothing: when one is wrong, nothing changes and every error is "
        "named (the preset and its field). --prune deletes the presets the file does not "
        "name."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON file (docs/presets.json is an example).")
        parser.add_argument(
            "--prune", action="store_true", help="Delete the presets the file does not name."
        )

    def handle(self, *args, file, prune=False, **options):
        entries = read_entries(Path(file))
        presets, errors = checked_presets(entries)
        if errors:
            raise CommandError(
                f"{file}: nothing changed; fix these:\n" + "\n".join(f"  {e}" for e in errors)
            )
        with transaction.atomic():
            created = sum(1 for preset in presets if preset.pk is None)
            for preset in presets:
                preset.save()
            pruned = 0
            if prune:
                names = [preset.name for preset in presets]
                pruned, _ = Preset.objects.exclude(name__in=names).delete()
        self.stdout.write(
            f"{created} preset(s) created, {len(presets) - created} updated"
            + (f", {pruned} deleted" if prune else "")
        )


def read_entries(path: Path) -> list:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise CommandError(f"{path} is not JSON: {exc}") from None
    if isinstance(document, dict) and set(document) == {"presets"}:
        document = document["presets"]
    if not isinstance(document, list):
        raise CommandError(f'{path}: must be a list of presets, or {{"presets": [...]}}')
    return document


def checked_presets(entries: list) -> tuple[list[Preset], list[str]]:
    """The presets of the file's entries, each new or its row of the same name updated and
    validated as the admin validates it (Preset.full_clean); and every error, each naming
    its preset (by name, else by position) and field."""
    presets, errors, seen = [], [], set()
    for position, entry in enumerate(entries, start=1):
        label = f"preset #{position}"
        if not isinstance(entry, dict):
            errors.append(f"{label}: must be an object with {', '.join(sorted(PRESET_KEYS))}")
            continue
        if isinstance(entry.get("name"), str) and entry["name"].strip():
            label = f"preset '{entry['name']}'"
        if unknown := sorted(set(entry) - PRESET_KEYS):
            errors.append(f"{label}: unknown keys: {', '.join(map(str, unknown))}")
            continue
        if not isinstance(entry.get("name"), str) or not isinstance(entry.get("task_type"), str):
            errors.append(f"{label}: name and task_type must be strings")
            continue
        name = entry["name"].strip()  # as Preset.clean keeps it
        if name in seen:
            errors.append(f"{label}: named twice in the file")
            continue
        seen.add(name)
        preset = Preset.objects.filter(name=name).first() or Preset(name=name)
        preset.task_type = entry["task_type"]
        preset.description = entry.get("description", "")
        preset.options = entry.get("options", {})
        try:
            preset.full_clean()
        except ValidationError as exc:
            errors.extend(
                f"{label}: {field}: {' '.join(messages)}"
                for field, messages in exc.message_dict.items()
            )
            continue
        presets.append(preset)
    return presets, errors
