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


def qualities(info: dict) -> dict:
    """Formats by id, split into audio-only and video (with or without audio), as in the
    API document. Missing fields are null; storyboards and other non-media formats are
    left out."""
    audio, video = {}, {}
    for fmt in info.get("formats") or []:
        format_id = str(fmt.get("format_id", ""))
        vcodec, acodec = fmt.get("vcodec"), fmt.get("acodec")
        if fmt.get("ext") == "mhtml" or (vcodec == "none" and acodec == "none"):
            continue
        if vcodec == "none" and _has(acodec):
            audio[format_id] = _quality(fmt, AUDIO_QUALITY_FIELDS)
        else:
            video[format_id] = _quality(fmt, VIDEO_QUALITY_FIELDS)
    return {"audio": audio, "video": video}


def select_fields(info: dict, names: list[str]) -> dict:
    """The named top-level fields that exist; `qualities` is computed."""
    selected = {}
    for name in names:
        if name == "qualities":
            selected["qualities"] = qualities(info)
        elif name in info:
            selected[name] = info[name]
    return selected
