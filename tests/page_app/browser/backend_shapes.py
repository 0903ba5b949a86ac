"""What the back end gives the page for issue 25, in exactly the shapes of docs/api.md, for
the browser tests: a task's `thumbnail`, `extra_files`, `library_path` and `preset` (in
`/status` and each row of `GET /tasks`), `GET /presets`, and the error code
`quota_exceeded`.

Other branches build those fields while the page is built; until they are merged, the
tests answer the page's requests with these (Playwright's page.route). Once merged, the
tests can let those requests through to the real stack: this module is the one place
that stands in for it.
"""

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

VIDEO_ID = "ThumbVideoTask0000000001"
PLAYLIST_ID = "ThumbPlaylistTask0000001"
ENTRY_IDS = ("ThumbEntryTask0000000001", "ThumbEntryTask0000000002")
QUOTA_ID = "QuotaFailedTask000000001"
TITLES = ("Sintel", "Tears of Steel")  # of the playlist's entries

PRESETS = {
    "presets": [
        {
            "name": "Jellyfin 1080p",
            "description": "MKV at most 1080p, English subtitles embedded, into the library.",
            "task_type": "get_video",
            "options": {
                "video_format": "bestvideo[height<=1080]",
                "output_format": "mkv",
                "subtitles": ["en"],
                "library": True,
            },
        },
        {
            "name": "Podcast MP3 128k",
            "description": "MP3 at 128 kbit/s with its cover and tags.",
            "task_type": "get_audio",
            "options": {"audio_format": "bestaudio[abr<=128]", "output_format": "mp3"},
        },
    ]
}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _row(task_id, task_type, title, url, **fields) -> dict:
    now = datetime.now(UTC)
    row = {
        "task_id": task_id,
        "task_type": task_type,
        "status": "completed",
        "url": url,
        "title": title,
        "video_format": "bestvideo",
        "audio_format": "bestaudio",
        "output_format": None,
        "created_at": _iso(now - timedelta(minutes=3)),
        "started_at": _iso(now - timedelta(minutes=3)),
        "finished_at": _iso(now - timedelta(minutes=2)),
        "expires_at": _iso(now + timedelta(minutes=8)),
        "cancelled": False,
        "error": None,
        "file": None,
        "file_size": None,
        "thumbnail": None,
        "extra_files": [],
        "library_path": None,
        "preset": None,
    }
    row.update(fields)
    return row


def task_rows(site: str) -> list[dict]:
    """GET /tasks's rows, newest first: a video with its thumbnail, subtitles, library
    place and preset; a playlist of two entries with theirs; a task refused by a quota."""
    video = _row(
        VIDEO_ID, "get_video", "Big Buck Bunny", f"{site}/bbb",
        output_format="mkv",
        file=f"/files/{VIDEO_ID}/Big Buck Bunny [bbb].mkv", file_size=4_250_000,
        thumbnail=f"/files/{VIDEO_ID}/thumbnail.jpg",
        extra_files=[
            {"name": "Big Buck Bunny [bbb].en.vtt", "size": 2310, "kind": "subtitles",
             "file": f"/files/{VIDEO_ID}/Big Buck Bunny [bbb].en.vtt"},
            {"name": "thumbnail.jpg", "size": 9400, "kind": "thumbnail",
             "file": f"/files/{VIDEO_ID}/thumbnail.jpg"},
        ],
        library_path="Blender Foundation/2008-05-20 Big Buck Bunny [bbb].mkv",
        preset="Jellyfin 1080p",
    )  # fmt: skip
    entries = [
        _row(
            entry_id, "get_video", title, f"{site}/clip{position}",
            file=f"/files/{entry_id}/video.mp4", file_size=1_100_000 * position,
            thumbnail=f"/files/{entry_id}/thumbnail.jpg",
            playlist=PLAYLIST_ID, position=position, expires_at=None,
        )
        for position, (entry_id, title) in enumerate(zip(ENTRY_IDS, TITLES, strict=True), 1)
    ]  # fmt: skip
    playlist = _row(
        PLAYLIST_ID, "get_playlist", "Open movies", f"{site}/open-movies",
        type="video", items=None,
        file=f"/files/{PLAYLIST_ID}/playlist.zip",
        thumbnail=f"/files/{PLAYLIST_ID}/thumbnail.jpg",
        counts={"waiting": 0, "processing": 0, "completed": 2, "error": 0},
        children=[
            {"task_id": entry["task_id"], "position": entry["position"],
             "title": entry["title"], "status": "completed"}
            for entry in entries
        ],
    )  # fmt: skip
    quota = _row(
        QUOTA_ID, "get_video", None, f"{site}/long-film",
        status="error", error="Download quota exceeded: 10.0 GB of 10.0 GB per day used",
        error_code="quota_exceeded", retry_after=7200, error_detail=None,
        finished_at=_iso(datetime.now(UTC)),
    )  # fmt: skip
    return [quota, *entries, playlist, video]


def thumbnail_images(folder: Path) -> list[bytes]:
    """Three different 320x180 JPEGs (ffmpeg's test pattern at three moments)."""
    images = []
    for second in (1, 4, 7):
        path = folder / f"thumb-{second}.jpg"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=1",
             "-ss", str(second), "-frames:v", "1", str(path)],
            check=True,
        )  # fmt: skip
        images.append(path.read_bytes())
    return images


def route_library(page, site: str, images: list[bytes]) -> None:
    """Answers the page's GET /tasks with task_rows and the thumbnails' /files with
    `images`; no ETag, so the page polls rather than long-polls these fixed rows."""
    page.route(
        re.compile(r"/tasks\?"),
        lambda route: route.fulfill(json={"tasks": task_rows(site), "next": None}),
    )
    owners = [VIDEO_ID, PLAYLIST_ID, *ENTRY_IDS]

    def thumbnail(route):
        owner = route.request.url.split("/files/")[1].split("/")[0]
        image = images[owners.index(owner) % len(images)]
        route.fulfill(body=image, content_type="image/jpeg")

    page.route(re.compile(r"/files/[^/]+/thumbnail\.jpg$"), thumbnail)


def route_presets(page, sent: list[dict]) -> None:
    """Answers GET /presets with PRESETS, and a task start with a task id, keeping each
    body sent in `sent` (this branch's API refuses `preset`, an unknown field)."""
    page.route(re.compile(r"/presets$"), lambda route: route.fulfill(json=PRESETS))

    def start(route):
        sent.append(json.loads(route.request.post_data))
        route.fulfill(json={"status": "waiting", "task_id": "PresetTask00000000000001"})

    page.route(re.compile(r"/get_(video|audio)$"), start)
