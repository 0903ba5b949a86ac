"""Key names become unique in their normal form (NFKC, case-folded).

Existing rows get their normal form. Where two names already share one (`admin` and
`Admin`), the older key keeps its name and the newer is renamed `<name>-2` (or -3, ...):
clients send secrets, not names, so a rename breaks no client, and the log says what was
renamed so the operator can tell its holder.
"""

import logging

from django.db import migrations

import keys_app.models

logger = logging.getLogger("ytdlphost.keys")


def free_name(name, taken):
    """`name-2`, `name-3`, ...: the first whose normal form is not in `taken` and fits."""
    normalize = keys_app.models.normalize_key_name
    limit = keys_app.models.NAME_MAX_LENGTH
    for number in range(2, len(taken) + 3):
        suffix = f"-{number}"
        base = name[: limit - len(suffix)]
        while len(normalize(base + suffix)) > limit:
            base = base[:-1]
        if normalize(base + suffix) not in taken:
            return base + suffix
    raise AssertionError("unreachable: fewer names are taken than candidates tried")


def normalize_names(apps, schema_editor):
    APIKey = apps.get_model("keys_app", "APIKey")
    normalize = keys_app.models.normalize_key_name
    keys = list(APIKey.objects.order_by("created_at", "pk"))
    # The oldest key of each normal form keeps its name; the others are renamed to names
    # that no key holds, so that no key is renamed that did not clash.
    owners = {}
    for api_key in keys:
        normal = normalize(api_key.name)
        if len(normal) <= keys_app.models.NAME_MAX_LENGTH:
            owners.setdefault(normal, api_key)
    taken = set(owners)
    for api_key in keys:
        normal = normalize(api_key.name)
        if owners.get(normal) is not api_key:
            old_name = api_key.name
            api_key.name = free_name(old_name, taken)
            normal = normalize(api_key.name)
            taken.add(normal)
            logger.warning(
                "Renamed the API key '%s' to '%s': its name was the same as another's "
                "once normalised (its secret is unchanged)",
                old_name,
                api_key.name,
            )
        api_key.normalized_name = normal
        api_key.save(update_fields=["name", "normalized_name"])


class Migration(migrations.Migration):
    dependencies = [
        ("keys_app", "0002_apikey_normalized_name"),
    ]

    operations = [
        migrations.RunPython(normalize_names, migrations.RunPython.noop),
    ]
