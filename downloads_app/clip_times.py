"""A clip's subtitles and chapters: yt-dlp reads both for the whole media, so they are cut
to the clip here, their times made relative to its start, as media.cut makes the media's.

Subtitles are cut by hand, for WebVTT and SubRip only (what media_options.SUBTITLE_FORMATS
asks yt-dlp for first): ffmpeg's subtitle seeking drops a cue already showing at the
clip's start, and its -itsoffset does not move subtitle streams, so a cue covering the
whole clip would be lost. Other formats are kept whole.
"""

import re
from pathlib import Path

CUT_FORMATS = frozenset({"vtt", "srt"})
# A cue's timing line: start --> end, then (WebVTT) its settings. Hours are optional in
# WebVTT; SubRip writes a comma before the milliseconds.
TIMING = re.compile(
    r"^(?P<start>(?:\d+:)?\d{2}:\d{2}[.,]\d{3})\s+-->\s+(?P<end>(?:\d+:)?\d{2}:\d{2}[.,]\d{3})"
    r"(?P<rest>.*)$"
)


def _seconds(stamp: str) -> float:
    *hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return int(hours[0] if hours else 0) * 3600 + int(minutes) * 60 + float(seconds)


def _stamp(seconds: float, separator: str) -> str:
    milliseconds = round(seconds * 1000)
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    return (
        f"{hours:02d}:{minutes:02d}:{milliseconds // 1000:02d}{separator}{milliseconds % 1000:03d}"
    )


def cut_subtitles(path: Path, start: float | None, end: float | None) -> None:
    """Keep the cues of the WebVTT or SubRip file at `path` that show between `start`
    and `end` (seconds; None: the media's start or end), clamped to them and moved by
    -start. A block without a timing line (WebVTT's header, notes, styles) is kept."""
    offset = start or 0.0
    length = None if end is None else end - offset
    separator = "," if path.suffix == ".srt" else "."
    text = path.read_text(encoding="utf-8-sig")
    kept = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if TIMING.match(line.strip())), None)
        if timing is None:
            kept.append(block)
            continue
        match = TIMING.match(lines[timing].strip())
        cue_start = _seconds(match["start"]) - offset
        cue_end = _seconds(match["end"]) - offset
        if cue_end <= 0 or (length is not None and cue_start >= length):
            continue
        cue_start = max(cue_start, 0.0)
        if length is not None:
            cue_end = min(cue_end, length)
        lines[timing] = (
            f"{_stamp(cue_start, separator)} --> {_stamp(cue_end, separator)}{match['rest']}"
        )
        kept.append("\n".join(lines))
    path.write_text("\n\n".join(block.strip("\n") for block in kept if block.strip()) + "\n")


def clip_chapters(chapters: list[dict], start: float | None, end: float | None) -> list[dict]:
    """yt-dlp's chapters ({"start_time", "end_time", "title"}) that show in the clip,
    clamped to it and moved by -start, as cut_subtitles does cues."""
    offset = start or 0.0
    length = None if end is None else end - offset
    clipped = []
    for chapter in chapters or ():
        chapter_start = (chapter.get("start_time") or 0.0) - offset
        chapter_end = chapter.get("end_time")
        chapter_end = None if chapter_end is None else chapter_end - offset
        if (chapter_end is not None and chapter_end <= 0) or (
            length is not None and chapter_start >= length
        ):
            continue
        if length is not None:
            chapter_end = length if chapter_end is None else min(chapter_end, length)
        clipped.append({**chapter, "start_time": max(chapter_start, 0.0), "end_time": chapter_end})
    return clipped
