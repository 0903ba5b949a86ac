"""Names from templates: the safe subset of yt-dlp's output template in which a request's
`filename` and the server's LIBRARY_TEMPLATE are written, its validation (at submission,
at start-up), and its rendering from a media's fields into names no file system, archive
or browser chokes on.

The subset, yt-dlp's own syntax (docs/api.md#file-names):
- `%(field)s`, a field of FIELDS; `%(field|text)s` gives `text` where the media has none
  (yt-dlp's default; without one a missing field is "NA", yt-dlp's placeholder);
- `%(upload_date>FORMAT)s`: the date with strftime directives of DATE_DIRECTIVES;
- `%(playlist_index)d`, `%(playlist_index)03d`: the entry's position, zero-padded;
- `%%`: a percent sign.
Nothing else of yt-dlp's (arithmetic, object traversal, replacements, other fields):
each of those reaches into the whole info document, whose fields the page author
chooses. A library template may also put `/` between folder levels.

A rendered name always ends with the file's own extension (a template's trailing
`.%(ext)s` is that extension; without one it is added). Each value goes through yt-dlp's
sanitize_filename, and each name, or each folder level, through safe_component: no
separators, controls, invisible characters, leading dots or dashes, trailing dots or
spaces, Windows device names, names of the service's own files, at most MAX_NAME_BYTES.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from yt_dlp.utils import sanitize_filename

# What a template may name: the media's fields (info_fields), the playlist's (the entry's
# task knows them: the child of a playlist is downloaded alone), the file's extension.
FIELDS = (
    "title",
    "uploader",
    "upload_date",
    "id",
    "playlist_title",
    "playlist_index",
    "ext",
)
# The fields read from yt-dlp's info document, and what stands in for one it lacks.
INFO_FALLBACKS = {
    "title": ("title",),
    "uploader": ("uploader", "channel", "creator", "uploader_id"),
    "upload_date": ("upload_date", "release_date"),
    "id": ("id",),
}
MISSING = "NA"  # yt-dlp's outtmpl_na_placeholder
DATE_DIRECTIVES = frozenset("YmdyjbBaA")
MAX_TEMPLATE_LENGTH = 300  # Task.filename_template
# Longest name (or folder level) in UTF-8 bytes: file systems allow 255, and a browser or
# curl may add " (1)", the library's placement " (2)" and a subtitle ".en.vtt".
MAX_NAME_BYTES = 200
# Longest value of one field in a name: a 300-byte title leaves room for the id after it.
MAX_FIELD_BYTES = 120
# `%(field>date|default)03d`, as yt-dlp spells it; and `%%`.
TOKEN = re.compile(
    r"%%|%\((?P<field>[^)>|]*)(?:>(?P<date>[^)|]*))?(?:\|(?P<default>[^)]*))?\)"
    r"(?P<width>0?[1-9])?(?P<conversion>[sd])"
)
EXTENSION_SUFFIX = ".%(ext)s"
# Windows device names: a file called one of these (with any extension) cannot be opened.
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(1, 10)}
    | {f"lpt{n}" for n in range(1, 10)}
)
# The stems of the files the service writes beside a task's file (info.json, the ZIP of a
# playlist, the thumbnail): a name of the template never takes one of them.
SERVICE_STEMS = frozenset({"info", "playlist", "thumbnail"})
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})  # controls, bidirectional overrides


class TemplateError(ValueError):
    """A template outside the safe subset; its message says what and why."""


@dataclass(frozen=True)
class Template:
    """A validated template, as parts: literal text and the fields of TOKEN."""

    levels: tuple[tuple, ...]  # folder levels (one for a file name), each a tuple of parts

    def render(self, fields: dict, extension: str) -> str:
        """The name (or `/`-separated path) for these fields (media_fields), with the
        file's own extension."""
        extension = safe_extension(extension)
        fields = {**fields, "ext": extension}
        names = [_render_level(parts, fields) for parts in self.levels]
        names[-1] = safe_component(names[-1], f".{extension}" if extension else "")
        return "/".join([*(safe_component(name) for name in names[:-1]), names[-1]])


def parse(template: str, folders: bool = False) -> Template:
    """The template, validated; TemplateError says what is wrong. `folders`: a library
    template, whose `/` separates folder levels (a request's `filename` names one file)."""
    if not isinstance(template, str) or not template.strip():
        raise TemplateError("must be a non-empty template such as '%(title)s [%(id)s]'")
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(f"must be at most {MAX_TEMPLATE_LENGTH} characters")
    if any(unicodedata.category(c) in INVISIBLE_CATEGORIES for c in template):
        raise TemplateError("must not contain control or invisible characters")
    if "\\" in template:
        raise TemplateError("must not contain '\\'")
    if template.endswith(EXTENSION_SUFFIX):
        template = template[: -len(EXTENSION_SUFFIX)]
    if not folders and "/" in template:
        raise TemplateError("names a file, not a path: it must not contain '/'")
    levels = template.split("/")
    if any(not level.strip() or level.strip() in (".", "..") for level in levels):
        raise TemplateError("must not have an empty, '.' or '..' folder level, or a leading '/'")
    return Template(tuple(_parse_level(level) for level in levels))


def _parse_level(text: str) -> tuple:
    parts, position = [], 0
    for match in TOKEN.finditer(text):
        literal = text[position : match.start()]
        if "%" in literal:
            raise TemplateError(_unsupported(literal))
        parts.append(literal)
        position = match.end()
        if match[0] == "%%":
            parts.append("%")
            continue
        parts.append(_checked_token(match))
    rest = text[position:]
    if "%" in rest:
        raise TemplateError(_unsupported(rest))
    parts.append(rest)
    return tuple(part for part in parts if part != "")


def _unsupported(text: str) -> str:
    start = text.index("%")
    return (
        f"has '{text[start : start + 12]}', which is not of the supported subset: "
        f"%(field)s with a field of {', '.join(FIELDS)}; %(upload_date>%Y-%m-%d)s; "
        "%(playlist_index)03d; %(field|default)s; %%"
    )


def _checked_token(match: re.Match) -> tuple:
    field, date_format, conversion = match["field"], match["date"], match["conversion"]
    if field not in FIELDS:
        raise TemplateError(f"names the field '{field}'; the fields are {', '.join(FIELDS)}")
    if date_format is not None:
        if field != "upload_date":
            raise TemplateError(f"formats '{field}' as a date; only upload_date is one")
        directives = re.findall(r"%(.)", date_format)
        if bad := [d for d in directives if d not in DATE_DIRECTIVES]:
            allowed = " ".join(f"%{d}" for d in sorted(DATE_DIRECTIVES))
            raise TemplateError(f"uses the date directive %{bad[0]}; allowed: {allowed}")
        if re.sub(r"%.", "", date_format).count("%"):
            raise TemplateError("has a date format that ends with '%'")
    if conversion == "d" and field != "playlist_index":
        raise TemplateError(f"formats '{field}' as a number (d); only playlist_index is one")
    if match["width"] and conversion != "d":
        raise TemplateError("gives a width to a text field; only %(playlist_index)03d takes one")
    return (field, date_format, match["default"], match["width"] or "", conversion)


def _render_level(parts: tuple, fields: dict) -> str:
    return "".join(
        part if isinstance(part, str) else _render_field(*part, fields) for part in parts
    )


def _render_field(field, date_format, default, width, conversion, fields) -> str:
    value = fields.get(field)
    if value in (None, ""):
        return default if default is not None else MISSING
    if date_format is not None:
        try:
            value = datetime.strptime(str(value), "%Y%m%d").date().strftime(date_format)
        except ValueError:
            return default if default is not None else MISSING
    elif conversion == "d":
        try:
            value = f"{int(value):{width}d}"
        except (TypeError, ValueError):
            return default if default is not None else MISSING
    # yt-dlp's own cleaning of a value meant for a file name, its is_id=False rules (the
    # NO_DEFAULT rules write look-alikes such as '⧸' for '/', which a name need not hold).
    value = sanitize_filename(str(value), is_id=False)
    return value.encode()[:MAX_FIELD_BYTES].decode("utf-8", "ignore")


def safe_extension(extension: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", extension or "")[:10].lower()


def safe_component(name: str, ending: str = "") -> str:
    """`name` + `ending` as one safe file or folder name: NFC, no controls or invisible
    characters, no separators or characters Windows refuses, single spaces, no leading
    dot or dash, no trailing dot or space, no device name, no stem of the service's own
    files (for a file: a name with an `ending`), at most MAX_NAME_BYTES in UTF-8 (cut
    on a character). "_" when nothing is left."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c) not in INVISIBLE_CATEGORIES)
    name = re.sub(r'[/\\:*?"<>|]', "_", name)
    name = " ".join(name.split())
    room = MAX_NAME_BYTES - len(ending.encode())
    name = name.encode()[:room].decode("utf-8", "ignore")
    name = name.lstrip(". ").rstrip(". ")
    if name.startswith("-"):  # read as an option by command lines
        name = "_" + name[1:]
    name = name or "_"
    stem = name.split(".")[0].casefold()
    if stem in WINDOWS_RESERVED or (ending and stem in SERVICE_STEMS):
        name = f"{name}_"
    return f"{name}{ending}"


def media_fields(info: dict) -> dict:
    """The fields of FIELDS an info document gives (the media's own; the playlist's and
    the extension are the task's): plain strings, small enough to cross the child's pipe
    and be kept."""
    fields = {}
    for field, names in INFO_FALLBACKS.items():
        value = next((info[n] for n in names if isinstance(info.get(n), str) and info[n]), "")
        fields[field] = value[:1000]
    if not fields["upload_date"] and isinstance(info.get("timestamp"), int | float):
        moment = datetime.fromtimestamp(info["timestamp"], tz=UTC)
        fields["upload_date"] = moment.strftime("%Y%m%d")
    return fields


def task_fields(task, media: dict) -> dict:
    """The fields of a task's file: the media's, and the playlist's when the task is an
    entry of one (its position; its playlist's title)."""
    fields = dict(media)
    if task.parent_id:
        fields["playlist_index"] = task.position
        fields["playlist_title"] = task.parent.title if task.parent else ""
    return fields
