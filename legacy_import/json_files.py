"""Reading yt-dlp-host's JSON files: each a top-level object of entries by name.

A problem is reported with the file's name and, where it can be found, the line of the
entry, so the operator can fix the file and run the import again.
"""

import json
import re
from pathlib import Path


class LegacyImportError(Exception):
    """What is wrong with the legacy files, one problem a line; nothing was imported."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def read_json_object(path: Path) -> tuple[dict, str]:
    """The file's top-level object, and its text (to find the line of an entry)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LegacyImportError([f"{path}: cannot be read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise LegacyImportError([f"{path}: is not UTF-8 text"]) from None
    # The duplicate names of each object, innermost object first: json calls the hook
    # for an object after all the objects inside it, so the last entry is the top level.
    duplicates_by_object = []

    def keep_duplicates(pairs):
        seen, duplicates = set(), []
        for name, _ in pairs:
            if name in seen:
                duplicates.append(name)
            seen.add(name)
        duplicates_by_object.append(duplicates)
        return dict(pairs)

    try:
        data = json.loads(text, object_pairs_hook=keep_duplicates)
    except json.JSONDecodeError as exc:
        location = f"{path.name} line {exc.lineno} column {exc.colno}"
        raise LegacyImportError([f"{location}: {exc.msg}"]) from None
    if not isinstance(data, dict):
        raise LegacyImportError(
            [f"{path.name}: expected a JSON object of entries by name, found {json_type(data)}"]
        )
    # JSON parsers keep only the last of two equal names; the file is ambiguous.
    problems = [
        f'{where(path.name, text, name, occurrence=2)}: "{name}" appears twice'
        for name in duplicates_by_object[-1]
    ]
    problems += [
        f'{path.name}: the field "{name}" appears twice in one entry'
        for duplicates in duplicates_by_object[:-1]
        for name in duplicates
    ]
    if problems:
        raise LegacyImportError(problems)
    return data, text


def json_type(value) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def serializer_problem(errors: dict) -> str:
    """What a serializer of the API found wrong with an entry, in this file's words."""
    return "; ".join(
        message if name == "non_field_errors" else f'"{name}" {message}'
        for name, messages in errors.items()
        for message in messages
    )


def line_of(text: str, name: str, occurrence: int = 1) -> int | None:
    """The line where `"name":` appears (the `occurrence`th time), or None."""
    for quoted in dict.fromkeys([json.dumps(name), json.dumps(name, ensure_ascii=False)]):
        matches = list(re.finditer(re.escape(quoted) + r"\s*:", text))
        if len(matches) >= occurrence:
            return text.count("\n", 0, matches[occurrence - 1].start()) + 1
    return None


def where(file_name: str, text: str, name: str, occurrence: int = 1) -> str:
    line = line_of(text, name, occurrence)
    return f"{file_name} line {line}" if line else file_name
