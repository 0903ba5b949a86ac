"""Reading an info.json: whole, by top-level fields, or as the `qualities` summary."""

AUDIO_QUALITY_FIELDS = ("abr", "acodec", "audio_channels", "filesize")
VIDEO_QUALITY_FIELDS = (
    "height", "width", "fps", "vcodec", "format_note", "dynamic_range", "filesize",
)  # fmt: skip


def _has(codec) -> bool:
    return codec not in (None, "none")


def _quality(fmt: dict, fields) -> dict:
    quality = {field: fmt.get(field) for field in fields}
    if quality.get("filesize") is None:
        quality["filesize"] = fmt.get("filesize_approx")
    return quality


def _formats(info: dict) -> list[dict]:
    """The document's formats. A document with a single format may not list it, or list
    it with less than the top level says: yt-dlp leaves `formats` out when the extractor
    gave one media URL with its fields at the top level, and copies the chosen format's
    fields there (so the top level of a direct file is that file). What the list lacks
    is then taken from the top level."""
    formats = info.get("formats") or []
    if not formats and info.get("url"):
        return [info]
    if len(formats) == 1 and info.get("format_id") in (None, formats[0].get("format_id")):
        known = {name: value for name, value in formats[0].items() if value is not None}
        return [{**info, **known}]
    return formats


def qualities(info: dict) -> dict:
    """Formats by id, split into audio-only and video (with or without audio), as in the
    API document. Missing fields are null; storyboards and other non-media formats are
    left out."""
    audio, video = {}, {}
    for fmt in _formats(info):
        format_id = str(fmt.get("format_id", ""))
        vcodec, acodec = fmt.get("vcodec"), fmt.get("acodec")
        if fmt.get("ext") == "mhtml" or (vcodec == "none" and acodec == "none"):
            continue
        if vcodec == "none" and _has(acodec):
            audio[format_id] = _quality(fmt, AUDIO_QUALITY_FIELDS)
        else:
            video[format_id] = _quality(fmt, VIDEO_QUALITY_FIELDS)
    return {"audio": audio, "video": video}


def select_fields(info: dict, names: list[str]) -> tuple[dict, list[str]]:
    """The named top-level fields that exist (`qualities` is computed), and the names of
    those that do not."""
    selected, missing = {}, []
    for name in names:
        if name == "qualities":
            selected["qualities"] = qualities(info)
        elif name in info:
            selected[name] = info[name]
        else:
            missing.append(name)
    return selected, missing
