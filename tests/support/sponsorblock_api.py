"""A loopback stand-in of the SponsorBlock API, answering as sponsor.ajay.app does the one
request yt-dlp's SponsorBlockPP makes:

    GET /api/skipSegments/<first 4 hex digits of sha256(video id)>
        ?service=YouTube&categories=["sponsor", ...]&actionTypes=["skip", "poi", "chapter"]

with a JSON list of {"videoID", "segments": [...]} for every known video whose hash starts
with the prefix, each segment of a requested category and action type; 404 when none.
"""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def segment(start: float, end: float, category: str, video_duration: float, action="skip"):
    """A segment as the API lists it."""
    return {
        "segment": [start, end],
        "UUID": hashlib.sha256(f"{start}{end}{category}".encode()).hexdigest(),
        "category": category,
        "actionType": action,
        "videoDuration": video_duration,
        "locked": 0,
        "votes": 3,
        "description": "",
    }


class SponsorBlockAPI:
    """`videos`: {video id: [segment(...), ...]}. `requests` lists the paths and queries
    asked; `delay` holds each answer back that many seconds (a slow API)."""

    def __init__(self, videos: dict[str, list[dict]]):
        self.videos = videos
        self.requests: list[tuple[str, dict]] = []
        self.delay = 0.0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api._answer(self)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, handler):
        parts = urlsplit(handler.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        self.requests.append((parts.path, query))
        time.sleep(self.delay)
        prefix = parts.path.removeprefix("/api/skipSegments/")
        categories = json.loads(query.get("categories", "[]")) or ["sponsor"]
        actions = json.loads(query.get("actionTypes", "[]")) or ["skip"]
        found = []
        for video_id, segments in self.videos.items():
            if not hashlib.sha256(video_id.encode()).hexdigest().startswith(prefix):
                continue
            chosen = [
                s for s in segments if s["category"] in categories and s["actionType"] in actions
            ]
            if chosen:
                found.append({"videoID": video_id, "hash": "", "segments": chosen})
        body = json.dumps(found).encode() if found else b"Not Found"
        try:
            handler.send_response(200 if found else 404)
            handler.send_header("Content-Type", "application/json" if found else "text/plain")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the client gave up waiting (a slow API's test)
            pass

    def __enter__(self):
        serve = lambda: self._server.serve_forever(poll_interval=0.05)  # noqa: E731
        threading.Thread(target=serve, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
