"""The wrapper around yt-dlp: the download, live recording, extraction and playlist flow.

Its options are built in ytdlp_options.py, and the task's size and disk limits are
limits.py's. yt-dlp's DownloadError becomes DownloadFailed (errors.py), whose message is
meant for the user, whose detail is yt-dlp's own and whose code errors.py reads from
both (it also reads yt-dlp's exception types).

Besides connection_guard.py, which owns everything that patches or subclasses yt-dlp's
networking internals (its GuardedYoutubeDL runs every download here), extractor_list.py
(a memo of one function), ytdlp_options.py (yt-dlp's option parser and format
selectors), errors.py (the exception types it reads a failure's code from), naming.py
(yt-dlp's sanitize_filename) and sponsorblock.py (yt-dlp's SponsorBlock post-processors and
the rules of their categories), this is the only module that imports yt_dlp.
"""

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import yt_dlp
from django.conf import settings
from yt_dlp.compat import imghdr
from yt_dlp.networking import Request
from yt_dlp.networking.exceptions import RequestError
from yt_dlp.postprocessor import FFmpegMergerPP, FFmpegThumbnailsConvertorPP, get_postprocessor
from yt_dlp.utils import (
    DownloadError,
    PostProcessingError,
    unified_timestamp,
    unsmuggle_url,
)

from downloads_app import (
    direct_media,
    egress,
    hls,
    media,
    media_options,
    naming,
    timecodes,
    url_policy,
    warm_up_media,
)
from downloads_app.connection_guard import (
    ANSWERS_FROM_MEMORY,
    FFMPEG_INPUT_ARGS,
    GuardedYoutubeDL,
    relaying_through,
)
from downloads_app.errors import DownloadFailed, ErrorCode
from downloads_app.limits import Limits
from downloads_app.ytdlp_options import CLIP_OPTIONS, base_options, build_ytdlp_options, is_clip

logger = logging.getLogger("ytdlphost.ytdlp")


DIRECT_PROTOCOLS = frozenset({"http", "https"})


def clip_files(task, info: dict) -> list[dict]:
    """The formats of a clip that ffmpeg would read as files over HTTP, seeking with
    Range requests; [] when the task is no clip, or a format is a manifest (its segments
    are fetched one by one: no seeking)."""
    if not is_clip(task) or task.is_live:
        return []
    formats = info.get("requested_formats") or [info]
    if not all(f.get("protocol") in DIRECT_PROTOCOLS and f.get("url") for f in formats):
        return []
    return formats


def honours_ranges(status: int, headers) -> bool:
    """Whether the answer to `Range: bytes=0-0` is the byte asked for (206), rather
    than the whole file (200)."""
    return status == 206 and (headers.get("Content-Range") or "").startswith("bytes 0-0/")


def _is_live(info: dict) -> bool:
    return bool(info.get("is_live")) or info.get("live_status") == "is_live"


def _check_before_download(info: dict, limits: Limits) -> None:
    """Refuse early what will not fit, and URLs ffmpeg would fetch on its own."""
    formats = info.get("requested_formats") or [info]
    expected = sum(f.get("filesize") or f.get("filesize_approx") or 0 for f in formats)
    limits.check_size(expected)
    limits.check_quota(expected)
    limits.check_disk(expected)
    for fmt in formats:
        try:
            url_policy.check_url(fmt.get("url") or "")
        except url_policy.URLNotAllowed as exc:
            unresolved = isinstance(exc, url_policy.HostNotResolved)
            code = ErrorCode.NETWORK if unresolved else ErrorCode.NOT_ALLOWED
            raise DownloadFailed(f"The media URL {exc}", code) from None


def _check_kind(info: dict, task) -> None:
    if info.get("_type") == "playlist":
        raise DownloadFailed(
            "The URL is a playlist: send it to /get_playlist to download its entries, or "
            "send the URL of one video.",
            ErrorCode.INVALID_REQUEST,
        )
    if task.is_live and not _is_live(info):
        raise DownloadFailed(
            "The URL is not a live stream; use /get_video or /get_audio for recorded media.",
            ErrorCode.INVALID_REQUEST,
        )
    if not task.is_live and _is_live(info):
        raise DownloadFailed(
            "The URL is a live stream; use /get_live_video or /get_live_audio to record it.",
            ErrorCode.INVALID_REQUEST,
        )


def _segments_back(ydl, playlist_url: str, seconds: float) -> int:
    """How many segments from the end of a live HLS playlist cover `seconds`."""
    text = ydl.urlopen(playlist_url).read().decode("utf-8", "replace")
    return hls.segments_back(text, seconds)


def _set_live_window(ydl, info: dict, task) -> None:
    """Record `duration` seconds, starting `start` seconds before the live edge.

    ffmpeg's HLS demuxer starts at the segment `-live_start_index` counts from the end of
    the playlist (clamped to the first one, so a stream that cannot rewind that far starts
    as early as it can); `-t` ends the recording after `duration` seconds of media.
    """
    formats = info.get("requested_formats") or [info]
    input_args = []
    if all(f.get("protocol", "").startswith("m3u8") for f in formats):
        back = _segments_back(ydl, formats[0]["url"], task.live_start or 0.0)
        input_args = ["-live_start_index", str(-back)]
    arguments = ydl.params.setdefault("external_downloader_args", {})
    arguments["ffmpeg_i"] = [*arguments.get("ffmpeg_i", []), *input_args]
    arguments["ffmpeg_o"] = [*arguments.get("ffmpeg_o", []), "-t", f"{task.live_duration:.3f}"]


def _relay_refusal(relay: egress.EgressRelay) -> str | None:
    if not relay.refusals:
        return None
    return f"ffmpeg was refused: {relay.refusals[0]}"


def _downloaded_file(info: dict, work_dir: Path) -> Path:
    for download in info.get("requested_downloads") or []:
        path = download.get("filepath")
        if path and Path(path).exists():
            return Path(path)
    candidates = [p for p in work_dir.iterdir() if p.is_file() and p.name.startswith("download.")]
    candidates = [p for p in candidates if not p.name.endswith((".part", ".ytdl"))]
    if not candidates:
        raise DownloadFailed("yt-dlp finished without producing a file", ErrorCode.INTERNAL)
    return max(candidates, key=lambda p: p.stat().st_size)


class Downloaded(NamedTuple):
    path: Path
    title: str  # the media's title, as the extractor gave it ("" when it gave none)
    # The whole media although the task asks for a clip (_needs_whole_file): the clip is
    # still to be cut from it (media.cut).
    needs_cut: bool = False
    # What the file's name and its library path are made of (naming.media_fields).
    name_fields: dict | None = None
    # yt-dlp's info of the download (its subtitles' files among it), for post_process and
    # sponsorblock.apply.
    info: dict | None = None
    # The media's thumbnail as a JPEG in the work directory (save_thumbnail), or None.
    thumbnail: Path | None = None


def download(
    task,
    work_dir: Path,
    progress_hook: Callable,
    limits: Limits,
    on_extracted: Callable[[], None] = lambda: None,
) -> Downloaded:
    """Download what the task asks for into work_dir; returns the produced file and the
    media's title.

    `on_extracted` is called when the metadata is known and the download starts.
    """
    output_cap = limits.output_cap()
    options = build_ytdlp_options(task, work_dir, progress_hook, limits, output_cap)
    with egress.EgressRelay(settings.YTDLP_PROXY) as relay:
        options["external_downloader_args"]["ffmpeg_i"] = list(FFMPEG_INPUT_ARGS)
        try:
            with relaying_through(relay), GuardedYoutubeDL(options) as ydl:
                info = ydl.extract_info(task.url, download=False)
                _check_kind(info, task)
                _check_before_download(info, limits)
                if task.is_live:
                    _set_live_window(ydl, info, task)
                needs_cut = _needs_whole_file(ydl, task, info)
                # Cut from the whole file, the clip is checked there (media.cut): a probe
                # of a server without ranges could read all of it.
                _check_clip_inside(task, info, relay, probe=not needs_cut)
                if needs_cut:
                    for option in CLIP_OPTIONS:
                        ydl.params.pop(option, None)
                on_extracted()
                info = ydl.process_ie_result(info, download=True)
                thumbnail = save_thumbnail(ydl, info, work_dir, task.id)
        except DownloadError as exc:
            if refusal := _relay_refusal(relay):
                raise DownloadFailed(refusal, ErrorCode.NOT_ALLOWED) from None
            raise DownloadFailed.from_ytdlp(exc) from None
        if refusal := _relay_refusal(relay):  # ffmpeg may exit 0 after a skipped segment
            raise DownloadFailed(refusal, ErrorCode.NOT_ALLOWED)
    produced = _downloaded_file(info, work_dir)
    # ffmpeg's -fs stops at the cap and exits normally: a file that reached it was cut
    # short.
    if output_cap and produced.stat().st_size >= output_cap[0]:
        raise output_cap[1]
    return Downloaded(
        produced, title_of(info), needs_cut, naming.media_fields(info), info, thumbnail
    )


# Thumbnails tried, best first, before the task goes without one.
THUMBNAIL_ATTEMPTS = 3
# Seconds all attempts together may take, and one read may wait: a thumbnail server that
# is slow, or drips its answer, never holds the task for long. Its bytes go to the disk
# as they come, which the supervisor counts as the download's activity meanwhile.
THUMBNAIL_SECONDS = 20
THUMBNAIL_READ_TIMEOUT = 10
THUMBNAIL_CHUNK = 64 * 1024
THUMBNAIL_NAME = "thumbnail.jpg"  # in the work directory
# What ffmpeg is asked to read, by the file's first bytes (yt-dlp's imghdr), and the
# extension its image2 demuxer knows it by: never .jpg, the converter's result's name.
THUMBNAIL_SOURCES = {"jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif"}


class ThumbnailRefused(Exception):
    pass


def save_thumbnail(ydl, info: dict, work_dir: Path, task_id: str) -> Path | None:
    """The media's thumbnail, fetched through the connection guard (ydl.urlopen, as
    yt-dlp's own --write-thumbnail does), at most THUMBNAIL_MAX_BYTES and
    THUMBNAIL_SECONDS, and re-encoded as a JPEG by yt-dlp's FFmpegThumbnailsConvertor:
    what is published is an image ffmpeg made, whatever the site sent. None when there is
    none or none could be had: a thumbnail is never worth failing the task, so every
    failure is logged instead.

    yt-dlp's own writer is not used: it copies the whole answer, however large or slow.
    """
    deadline = time.monotonic() + THUMBNAIL_SECONDS
    thumbnails = [t for t in info.get("thumbnails") or () if t.get("url")]
    for thumbnail in reversed(thumbnails[-THUMBNAIL_ATTEMPTS:]):  # yt-dlp sorts best last
        try:
            return _fetch_thumbnail(ydl, thumbnail, work_dir, deadline)
        except (RequestError, PostProcessingError, ThumbnailRefused, OSError) as exc:
            logger.info(
                "task %s: no thumbnail from %s: %s", task_id, thumbnail["url"], exc,
                extra={"task_id": task_id},
            )  # fmt: skip
    return None


def _fetch_thumbnail(ydl, thumbnail: dict, work_dir: Path, deadline: float) -> Path:
    if time.monotonic() > deadline:
        raise ThumbnailRefused(f"no time left ({THUMBNAIL_SECONDS} s for the thumbnail)")
    cap = settings.THUMBNAIL_MAX_BYTES
    request = Request(
        thumbnail["url"], headers=thumbnail.get("http_headers") or {},
        extensions={"timeout": THUMBNAIL_READ_TIMEOUT},
    )  # fmt: skip
    received = work_dir / "thumbnail.part"
    try:
        with ydl.urlopen(request) as response, open(received, "wb") as out:
            size = 0
            while chunk := response.read(THUMBNAIL_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise ThumbnailRefused(f"larger than THUMBNAIL_MAX_BYTES ({cap} bytes)")
                if time.monotonic() > deadline:
                    raise ThumbnailRefused(f"slower than {THUMBNAIL_SECONDS} s")
                out.write(chunk)
        kind = THUMBNAIL_SOURCES.get(imghdr.what(str(received)) or "")
        if kind is None:
            raise ThumbnailRefused("not an image ffmpeg is asked to read")
        source = received.replace(work_dir / f"thumbnail-source.{kind}")
        converted = FFmpegThumbnailsConvertorPP(ydl).convert_thumbnail(str(source), "jpg")
        source.unlink()
        return Path(converted).replace(work_dir / THUMBNAIL_NAME)
    finally:
        received.unlink(missing_ok=True)


def post_process(path: Path, downloaded: Downloaded, steps: list[dict], audio_only: bool):
    """Run yt-dlp's post-processors `steps` (media_options.MediaOptions.postprocessors)
    on the finished file at `path`, in place: what they embed comes from the download's
    info, its subtitle files and its saved thumbnail. A failing step fails the task
    (media.ConversionFailed), but for those media_options.OPTIONAL_STEPS names, which
    leave the file as it was. They read local files only: no connection is made."""
    if not steps:
        return
    info = dict(downloaded.info or {})
    # The file as it is now: one video and one audio stream at most, in its own container
    # (FFmpegMetadata names the streams' languages after requested_formats).
    for name in ("requested_formats", "requested_downloads", "__files_to_move"):
        info.pop(name, None)
    info.update(filepath=str(path), ext=path.suffix.lstrip("."))
    if audio_only:
        info["vcodec"] = "none"
    thumbnail = downloaded.thumbnail
    info["thumbnails"] = [{"id": "0", "filepath": str(thumbnail)}] if thumbnail else []
    with GuardedYoutubeDL(base_options()) as ydl:
        for step in steps:
            arguments = {name: value for name, value in step.items() if name != "key"}
            processor = get_postprocessor(step["key"])(ydl, **arguments)
            try:
                info = ydl.run_pp(processor, info)
            except Exception as exc:
                # An optional step's failure of any kind (mutagen raises its own) is not
                # worth the download; another's is the task's, when yt-dlp reports it.
                if step["key"] in media_options.OPTIONAL_STEPS:
                    logger.warning("%s failed on %s: %s", step["key"], path.name, exc)
                    continue
                if isinstance(exc, PostProcessingError):
                    raise media.ConversionFailed(f"{step['key']} failed: {exc}") from None
                raise


def _needs_whole_file(ydl, task, info: dict) -> bool:
    """Whether a clip must be cut from its whole file, downloaded by yt-dlp itself,
    because a server of its files ignores Range requests.

    ffmpeg reads a clip of a file over HTTP by seeking. A server that answers every
    request whole, with 200, lets it read from the start only: an MP4 whose index (moov)
    follows the media is then unreadable (ffmpeg reads to the index, cannot seek back, and
    fails with "partial file": with exit code 1 when it re-encodes, with an empty file and
    exit code 0 when it copies streams). So this is asked of the server up front, with
    one request for one byte, rather than read from ffmpeg's failure, which is not
    reliably one. Cutting the whole file is then right for any file from such a server:
    ffmpeg would have read it from the start anyway, up to the clip's end.

    The request goes through the connection guard like every other of yt-dlp's, with the
    format's own headers; a failing one leaves the clip to ffmpeg, whose error says more.
    """
    for fmt in clip_files(task, info):
        # As yt-dlp asks for media: unencoded, or the byte would be one of a gzip stream.
        asked = {"Range": "bytes=0-0", "Accept-Encoding": "identity"}
        request = Request(fmt["url"], headers={**(fmt.get("http_headers") or {}), **asked})
        try:
            with ydl.urlopen(request) as response:  # closed unread: at most one byte wanted
                honoured = honours_ranges(response.status, response.headers)
        except RequestError as exc:
            logger.info("task %s: could not ask %s for a byte range: %s", task.id, fmt["url"], exc)
            return False
        if not honoured:
            logger.warning(
                "task %s: the server of %s ignores byte ranges; downloading the whole file "
                "to cut the clip from it", task.id, fmt["url"], extra={"task_id": task.id},
            )  # fmt: skip
            return True
    return False


def _check_clip_inside(task, info: dict, relay: egress.EgressRelay, probe: bool) -> None:
    """Refuse a clip that starts after the media's end, of which yt-dlp and ffmpeg make an
    empty file without an error. yt-dlp knows the length of most media; of a direct file
    or a manifest it leaves unmeasured, ffprobe reads it (the header, through the relay)."""
    if not is_clip(task) or task.is_live or not task.start_time:
        return
    length = info.get("duration")
    if length is None and probe:
        media = (info.get("requested_formats") or [info])[0]
        probed = direct_media.probe(relay, media.get("manifest_url") or media.get("url") or "")
        length = direct_media.described(probed)["duration"] if probed else None
    if outside := timecodes.clip_outside_media(task.start_time, length):
        raise DownloadFailed(outside, ErrorCode.INVALID_REQUEST)


def title_of(info: dict) -> str:
    title = info.get("title")
    return title if isinstance(title, str) else ""


# Any URL no extractor but the generic one takes: matching it against every extractor
# compiles all their URL patterns.
WARM_UP_URL = "https://warm-up.invalid/"


def warm_up() -> None:
    """Load in this process what every task's yt-dlp needs, without a request.

    A task's work runs in a child forked from the worker (supervisor.py), and each child
    throws away what it loaded. Cold, a child spends over a second before its first
    request: loading the extractors and compiling their URL patterns, creating YoutubeDL
    (its option parsing compiles dozens of regular expressions), running `ffmpeg -bsfs`
    and `ffprobe -version` to learn their versions (format selection asks whether it can
    merge), and compiling strptime's patterns for the first date it parses. Done once in
    the worker, every child inherits it all, and a get_info task costs its extraction
    only (bench/run.py, info latency).
    """
    with GuardedYoutubeDL(base_options()) as ydl:
        for extractor in yt_dlp.extractor.gen_extractor_classes():
            extractor.suitable(WARM_UP_URL)
        ydl.get_info_extractor("Generic")
        merger = FFmpegMergerPP(ydl)
        if merger.available:  # reads the versions of ffmpeg and ffprobe into yt-dlp's cache
            merger.probe_available  # noqa: B018  (a property that runs ffprobe once)
        unified_timestamp("Sat, 28 Nov 2026 12:00:00 GMT")
        ydl.make_tls_contexts()
    # What the first extraction of each kind loads and compiles (warm_up_media.py), and
    # the TLS context every request handler asks for (GuardedUrllibRH._make_sslcontext).
    for url in warm_up_media.ANSWERS:
        _sanitized_info(url, {ANSWERS_FROM_MEMORY: warm_up_media.ANSWERS, "logger": _Unheard()})


class _Unheard:
    """Where the warm-up's yt-dlp says what it says of every direct link ("Falling back on
    generic information extractor"): nowhere, instead of four log lines per worker start.
    A failure still raises."""

    def debug(self, message):
        pass

    info = warning = error = debug


def extract_metadata(url: str) -> dict:
    """The video's metadata, sanitized to what JSON can hold; of a direct file, what
    ffprobe finds inside it (direct_media.py)."""
    with direct_media.DirectMediaDescription(url) as description:
        try:
            info = _sanitized_info(url)
        except DownloadError as exc:
            raise DownloadFailed.from_ytdlp(exc) from None
        description.fill_in(info)
    return info


def _sanitized_info(url: str, extra_options: dict | None = None) -> dict:
    options = base_options() | (extra_options or {})
    # A playlist's entries are listed, not each extracted in turn.
    options["extract_flat"] = "in_playlist"
    with GuardedYoutubeDL(options) as ydl:
        info = ydl.extract_info(url, download=False)
        return without_credentials(ydl.sanitize_info(info))


class PlaylistEntry(NamedTuple):
    position: int  # in the playlist, from 1
    url: str
    title: str
    # What the entry is known by wherever it moves in the list (a subscription's archive):
    # archive_id_of.
    archive_id: str = ""


# Entries yt-dlp lists as a link to a page of their own, which an extractor knows by an
# id of the media (a channel's videos); an entry embedded in the listed page has an id
# made of the page's name and the entry's position there.
LINKED_ENTRY_TYPES = frozenset({"url", "url_transparent"})


def archive_id_of(ydl, entry: dict, entry_url: str) -> str:
    """yt-dlp's own download-archive id of a linked entry (`youtube <id>`, as
    --download-archive records it), else the entry's URL: a generic page's or feed's
    entries have no id of their own that survives their moving in the list."""
    if entry.get("_type") in LINKED_ENTRY_TYPES:
        archive_id = ydl._make_archive_id(entry)
        if archive_id:
            return archive_id
    return entry_url


class Playlist(NamedTuple):
    title: str
    entries: list[PlaylistEntry]


def list_playlist(url: str, items: str, max_items: int) -> Playlist:
    """The playlist's entries (those `items` selects), read with flat extraction: each is a
    URL and a title, none is resolved. At most `max_items`, or DownloadFailed.

    Without `items`, yt-dlp stops listing after max_items + 1 entries: enough to tell that
    the playlist is too large, without reading all of a channel of thousands.
    """
    options = base_options()
    options["noplaylist"] = False
    options["extract_flat"] = "in_playlist"
    if items:
        options["playlist_items"] = items
    else:
        options["playlistend"] = max_items + 1
    try:
        with GuardedYoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
            return _playlist_of(ydl, info, items, max_items)
    except DownloadError as exc:
        raise DownloadFailed.from_ytdlp(exc) from None


def _playlist_of(ydl, info: dict, items: str, max_items: int) -> Playlist:
    """list_playlist's reading of yt-dlp's flat `info`."""
    if info.get("_type") != "playlist":
        raise DownloadFailed(
            "The URL is a single video, not a playlist; use /get_video or /get_audio.",
            ErrorCode.INVALID_REQUEST,
        )
    entries = list(info.get("entries") or [])
    if len(entries) > max_items:
        if items:
            raise DownloadFailed(
                f"`items` selects more than {max_items} entries (PLAYLIST_MAX_ITEMS); "
                "select fewer.",
                ErrorCode.TOO_LARGE,
            )
        raise DownloadFailed(
            f"The playlist has more than {max_items} entries (PLAYLIST_MAX_ITEMS); choose "
            f'some with `items`, such as "1-{max_items}".',
            ErrorCode.TOO_LARGE,
        )
    positions = info.get("requested_entries") or range(1, len(entries) + 1)
    listed = []
    for position, entry in zip(positions, entries, strict=False):
        if not isinstance(entry, dict):
            continue  # an entry yt-dlp could not read: nothing to download
        entry_url = entry.get("url") or entry.get("webpage_url") or ""
        # Some extractors smuggle hints to themselves in the URL's fragment.
        entry_url = unsmuggle_url(entry_url)[0] if isinstance(entry_url, str) else ""
        listed.append(
            PlaylistEntry(
                int(position), entry_url, title_of(entry), archive_id_of(ydl, entry, entry_url)
            )
        )
    if not listed:
        raise DownloadFailed(
            "The playlist has no entries (or `items` selects none).", ErrorCode.NOT_FOUND
        )
    return Playlist(title_of(info), listed)


# Request headers that carry credentials; yt-dlp keeps them in a format's http_headers.
CREDENTIAL_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})


def without_credentials(document):
    """The info document without the cookies and credential headers yt-dlp put in it.

    yt-dlp gives every format (and requested format, download, entry...) a `cookies` field
    with the jar's cookies for that format's URL. The URL is the page author's choice, so
    a page naming `http://victim.example/v.mp4` would publish the operator's session cookie
    for victim.example in info.json, readable by any get_info key and any /files link
    holder. Removed wherever they occur, at any depth.
    """
    if isinstance(document, list):
        return [without_credentials(item) for item in document]
    if not isinstance(document, dict):
        return document
    cleaned = {}
    for name, value in document.items():
        if name == "cookies":
            continue
        if name == "http_headers" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if str(k).lower() not in CREDENTIAL_HEADERS}
        cleaned[name] = without_credentials(value)
    return cleaned
