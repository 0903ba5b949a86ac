"""Reading the API keys of a yt-dlp-host installation (its `jsons/api_keys.json`).

`manage.py import_legacy` reads and checks every entry of every file first, then writes
everything in one transaction, so a bad file imports nothing. The functions here only
read, check and map; `apply_key_plan` is the one that writes.

The file is `{"<name>": {"key": "<secret>", "permissions": [...], "name"?: "<name>"}}`.
Very old versions of yt-dlp-host knew two permissions that were later split up:
`admin` (managing keys) and `download` (the download endpoints).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from rest_framework import serializers

from keys_app import crypto
from keys_app.models import MIN_SECRET_LENGTH, PERMISSIONS, APIKey, normalize_key_name
from keys_app.serializers import CreateKeyInput
from legacy_import.json_files import (
    LegacyImportError,
    json_type,
    read_json_object,
    where,
)

LEGACY_PERMISSION_ALIASES = {
    "admin": ("create_key", "delete_key", "get_key", "get_keys"),
    "download": ("get_video", "get_audio", "get_live_video", "get_live_audio"),
}
# As for `create_admin_key --key`: a shorter secret is too easy to guess. yt-dlp-host made
# 43-character secrets (secrets.token_urlsafe(32)).


def map_permissions(names: list[str]) -> tuple[list[str], list[str]]:
    """(this service's permissions, the names that mean nothing here)."""
    granted, unknown = set(), []
    for name in names:
        if name in PERMISSIONS:
            granted.add(name)
        elif name in LEGACY_PERMISSION_ALIASES:
            granted.update(LEGACY_PERMISSION_ALIASES[name])
        else:
            unknown.append(name)
    return [p for p in PERMISSIONS if p in granted], unknown


@dataclass(frozen=True)
class LegacyKey:
    name: str
    secret: str = field(repr=False)
    permissions: list[str]


def secret_problem(secret) -> str | None:
    if not isinstance(secret, str):
        return f'"key" must be a string, not {json_type(secret)}'
    if len(secret) < MIN_SECRET_LENGTH:
        return f"the secret is shorter than {MIN_SECRET_LENGTH} characters"
    if secret != secret.strip() or any(ord(c) < 32 or ord(c) == 127 for c in secret):
        # An HTTP header cannot carry it as it is, so no client can be sending it.
        return "the secret has surrounding spaces or control characters"
    return None


def parse_key_entry(name: str, entry) -> tuple[LegacyKey, list[str]]:
    """The key of one entry, and the permission names that mean nothing here; raises
    ValueError saying what is wrong with the entry."""
    if not isinstance(entry, dict):
        raise ValueError(f"must be an object, not {json_type(entry)}")
    try:
        # The rule of POST /create_key, so an imported key is one the API could have made.
        CreateKeyInput().fields["name"].run_validation(name)
    except serializers.ValidationError as exc:
        raise ValueError(
            f"{' '.join(exc.detail)} (rename it in the file: clients send the secret, not the name)"
        ) from None
    if "name" in entry and entry["name"] != name:
        raise ValueError(f'its "name" field says {json.dumps(entry["name"])}')
    if "key" not in entry:
        raise ValueError('has no "key" (its secret)')
    secret = entry["key"]
    if message := secret_problem(secret):
        raise ValueError(message)
    names = entry.get("permissions")
    if not isinstance(names, list) or not all(isinstance(p, str) for p in names):
        raise ValueError('"permissions" must be a list of permission names')
    permissions, unknown = map_permissions(names)
    return LegacyKey(name, secret, permissions), unknown


def parse_keys(data: dict, text: str, file_name: str, drop_unknown_permissions=False):
    """(keys, warnings) from api_keys.json; raises LegacyImportError naming every
    problem."""
    keys, problems, warnings = [], [], []
    names_by_secret, names_by_normal_form = {}, {}
    for name, entry in data.items():
        try:
            key, unknown = parse_key_entry(name, entry)
            if (same := names_by_normal_form.get(normalize_key_name(name))) is not None:
                # Names are unique in their normal form here (`Admin` is `admin`).
                raise ValueError(f'is the same name as "{same}" (letter case and width aside)')
            if key.secret in names_by_secret:
                raise ValueError(f'has the same secret as the key "{names_by_secret[key.secret]}"')
            if unknown and not drop_unknown_permissions:
                raise ValueError(
                    f"unknown permission {', '.join(map(json.dumps, unknown))} "
                    "(--drop-unknown-permissions imports the key without it)"
                )
        except ValueError as exc:
            problems.append(f'{where(file_name, text, name)}: key "{name}": {exc}')
            continue
        if unknown:
            warnings.append(f'key "{name}": dropped unknown permission {", ".join(unknown)}')
        names_by_secret[key.secret] = name
        names_by_normal_form[normalize_key_name(name)] = name
        keys.append(key)
    if problems:
        raise LegacyImportError(problems)
    return keys, warnings


def read_keys(path: Path, drop_unknown_permissions=False):
    """(keys, warnings) from an api_keys.json file."""
    data, text = read_json_object(path)
    return parse_keys(data, text, path.name, drop_unknown_permissions)


@dataclass
class KeyPlan:
    create: list[LegacyKey] = field(default_factory=list)
    update: list[tuple[APIKey, LegacyKey]] = field(default_factory=list)
    unchanged: list[LegacyKey] = field(default_factory=list)


def plan_key_import(keys: list[LegacyKey], update=False) -> KeyPlan:
    """What importing these keys does to the database; raises LegacyImportError on a
    conflict."""
    plan, problems = KeyPlan(), []
    normal_forms = [normalize_key_name(k.name) for k in keys]
    existing = {
        k.normalized_name: k for k in APIKey.objects.filter(normalized_name__in=normal_forms)
    }
    digests = {crypto.digest_secret(k.secret): k.name for k in keys}
    holders = dict(APIKey.objects.filter(key_digest__in=digests).values_list("key_digest", "name"))
    for key in keys:
        holder = holders.get(crypto.digest_secret(key.secret))
        if holder is not None and holder != key.name:
            # Secrets are unique: one secret cannot authenticate two keys.
            problems.append(f'key "{key.name}": its secret already belongs to the key "{holder}"')
            continue
        current = existing.get(normalize_key_name(key.name))
        if current is None:
            plan.create.append(key)
            continue
        if current.name != key.name:
            # Not the same key (names are matched as spelt), but it cannot sit beside it.
            problems.append(
                f'key "{key.name}": the key "{current.name}" here has the same name '
                "(letter case and width aside); rename it in the file"
            )
            continue
        same_secret = crypto.digests_match(key.secret, current.key_digest)
        same_permissions = set(current.permissions) == set(key.permissions)
        if same_secret and same_permissions:
            plan.unchanged.append(key)
        elif update:
            plan.update.append((current, key))
        else:
            differences = " and ".join(
                what
                for what, same in (("secret", same_secret), ("permissions", same_permissions))
                if not same
            )
            problems.append(
                f'key "{key.name}" already exists here with other {differences}; '
                "--update replaces them with those from yt-dlp-host"
            )
    if problems:
        raise LegacyImportError(problems)
    return plan


def apply_key_plan(plan: KeyPlan) -> None:
    """Write the plan; run it inside the import's transaction."""
    for key in plan.create:
        APIKey.objects.create_key(key.name, key.permissions, secret=key.secret)
    for current, key in plan.update:
        current.set_secret(key.secret)
        current.permissions = key.permissions
        current.save(update_fields=["key_digest", "key_encrypted", "permissions"])
