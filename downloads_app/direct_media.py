"""What is inside a direct media file: yt-dlp never looks, ffprobe reads its header.

For a link to a file (no page, no manifest) yt-dlp reports one format and nothing of what
is inside it: no dimensions, codecs or size, so `?qualities` would be all nulls. ffprobe
reads the file's header instead, through an egress relay like every byte ffmpeg fetches
(connection_guard.ffmpeg_relay_env), and only the fields yt-dlp left empty are set. A file
ffprobe cannot read in time is described as yt-dlp had it.

ffprobe is a process that takes 60-70 ms to start (it links some 200 libraries), as long
as yt-dlp's whole extraction of such a link. So get_info starts it before the extraction
when the URL's path names a media file (`/clip.mp4`), and the two run side by side; the
probe is used when the extraction finds that very URL to be a direct file, and killed
otherwise. A link that names no media file is probed after the extraction, as before
(bench/direct_info.py has the figures).
"""

import json
import logging
import mimetypes
import os
import subprocess
from urllib.parse import urlsplit

from django.conf import settings

from downloads_app import egress
from downloads_app import media as media_tools
from downloads_app.connection_guard import FFMPEG_INPUT_ARGS, ffmpeg_relay_env

logger = logging.getLogger("ytdlphost.ytdlp")

# How long ffprobe may take to look inside a direct file (seconds).
PROBE_TIMEOUT = 30


class Probe:
    """ffprobe looking at `url` through `relay`, started at once: `result()` waits for its
    description (None when it could not read the file in PROBE_TIMEOUT), `cancel()` ends
    it."""

    def __init__(self, relay: egress.EgressRelay, url: str):
        self.url = url
        self._process = None
        try:
            self._process = subprocess.Popen(
                media_tools.ffprobe_command(url, FFMPEG_INPUT_ARGS),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=ffmpeg_relay_env(relay, os.environ),
            )  # fmt: skip
        except OSError as exc:
            logger.info("could not describe %s with ffprobe: %s", url, exc)

    def result(self) -> dict | None:
        if self._process is None:
            return None
        try:
            output, errors = self._process.communicate(timeout=PROBE_TIMEOUT)
            if self._process.returncode:
                raise subprocess.CalledProcessError(self._process.returncode, "ffprobe", errors)
            return json.loads(output)
        except (subprocess.SubprocessError, ValueError) as exc:
            self.cancel()
            logger.info("could not describe %s with ffprobe: %s", self.url, exc)
            return None

    def cancel(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


def probe(relay: egress.EgressRelay, url: str) -> dict | None:
    """ffprobe's description of `url`, read through `relay`."""
    return Probe(relay, url).result()


def names_media_file(url: str) -> bool:
    """Whether the URL's path ends in the extension of an audio or video file."""
    kind, _ = mimetypes.guess_type(urlsplit(url).path)
    return bool(kind) and kind.split("/")[0] in ("video", "audio")


class DirectMediaDescription:
    """Describes the direct file that a get_info's extraction may find (module docstring):

    with DirectMediaDescription(url) as description:
        info = <yt-dlp's extraction of url>
        description.fill_in(info)
    """

    def __init__(self, url: str):
        self.url = url
        self._relay: egress.EgressRelay | None = None
        self._early: Probe | None = None

    def __enter__(self) -> "DirectMediaDescription":
        if names_media_file(self.url):
            self._early = Probe(self._started_relay(), self.url)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._early is not None:
            self._early.cancel()
        if self._relay is not None:
            self._relay.stop()

    def _started_relay(self) -> egress.EgressRelay:
        if self._relay is None:
            self._relay = egress.EgressRelay(settings.YTDLP_PROXY).start()
        return self._relay

    def fill_in(self, info: dict) -> None:
        """Set the fields of `info` and its format that yt-dlp left unknown, when it
        describes one direct file."""
        formats = info.get("formats") or []
        if len(formats) > 1 or info.get("_type") == "playlist":
            return
        media = formats[0] if formats else info
        url = media.get("url") or info.get("url")
        if not url or media.get("protocol", "http").split("_")[0] not in ("http", "https"):
            return
        if media.get("height") or media.get("vcodec") or media.get("acodec"):
            return  # yt-dlp knows what it is
        if self._early is not None and self._early.url == url:
            probed, self._early = self._early.result(), None
        else:
            probed = probe(self._started_relay(), url)
        if probed is None:
            return
        found = described(probed)
        for target in (info, *formats):
            for name, value in found.items():
                if target.get(name) is None and value is not None:
                    target[name] = value


def described(probed: dict) -> dict:
    """yt-dlp's format fields, from ffprobe's description of a file."""
    streams = probed.get("streams", [])
    video = next(
        (s for s in streams
         if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        {},
    )  # fmt: skip
    audio = next((s for s in streams if s.get("codec_type") == "audio"), {})
    container = probed.get("format", {})

    def number(value, scale=1.0):
        try:
            return round(float(value) / scale, 3)
        except (TypeError, ValueError, ZeroDivisionError):
            return None

    def rate(text):
        numerator, _, denominator = str(text or "").partition("/")
        return number(numerator, float(denominator or 1) or 1) if numerator else None

    size = container.get("size")
    return {
        "width": video.get("width"),
        "height": video.get("height"),
        "fps": rate(video.get("avg_frame_rate")) or None,
        "vcodec": video.get("codec_name") or ("none" if audio else None),
        "acodec": audio.get("codec_name") or ("none" if video else None),
        "abr": number(audio.get("bit_rate"), 1000),
        "tbr": number(container.get("bit_rate"), 1000),
        "filesize": int(size) if str(size or "").isdigit() else None,
        "duration": number(container.get("duration")),
    }
