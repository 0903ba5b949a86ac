"""The page as an installable web app: its manifest (with a Web Share Target), its service
worker, and the link a share or the bookmarklet brings.

Both are views rather than static files: the worker must be served from / to control the
page (a script's scope is its folder), and both name the static files' URLs, which
depend on STATIC_URL. The worker (templates/page/service-worker.js) carries a digest of
the page's files, so a browser installs a new worker (and refreshes its cache) whenever
one of them changes.
"""

import hashlib
import json
import re
from pathlib import Path

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PAGE_STATIC = Path(__file__).resolve().parent / "static"
NAME = "ytdlphost"
# The page's colours (page.css, --accent and --bg): the bar of the installed app, and its
# splash screen.
THEME_COLOR = "#0b5cd5"
BACKGROUND_COLOR = "#f6f7f9"

# What a share or the bookmarklet sends (`?url=`), and where Android often puts a shared
# link instead: in `text` (with the page's title before it) or, rarely, in `title`.
SHARED_FIELDS = ("url", "text", "title")
SHARED_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
# A sentence's full stop or a closing bracket after a shared link is not part of it.
TRAILING = ".,;:!?)]}'"
SHARED_URL_MAX_LENGTH = 2048  # the API's own limit for `url` is larger than any real link


def shared_url(query) -> str:
    """The first http(s) URL of a share's url, text and title; "" when none has one."""
    for field in SHARED_FIELDS:
        match = SHARED_URL.search(query.get(field, ""))
        if match:
            return match.group(0).rstrip(TRAILING)[:SHARED_URL_MAX_LENGTH]
    return ""


def page_files() -> list[str]:
    """The page's own static files (its modules, style and icons), as paths under
    STATIC_ROOT's page/ folder: what the worker caches."""
    files = (PAGE_STATIC / "page").rglob("*")
    return sorted(str(path.relative_to(PAGE_STATIC)) for path in files if path.is_file())


def assets_digest(files: list[str]) -> str:
    """A digest of the files' names and contents: read on each request of the worker
    (a dozen small files, asked for when a page loads), so a changed file is never
    served from the old cache, in development too."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode())
        digest.update((PAGE_STATIC / name).read_bytes())
    return digest.hexdigest()[:16]


@require_GET
def manifest(request):
    icons = [
        {"src": static("page/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("page/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": static("page/icons/maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
        {"src": static("page/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
    ]
    page = reverse("page")  # "/", or the prefix the server is mounted at
    body = {
        "id": page,
        "name": NAME,
        "short_name": NAME,
        "description": "Download videos and audio with yt-dlp on your own server.",
        "start_url": page,
        "scope": page,
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": icons,
        # Sharing a link to the installed app opens the page with it filled in (shared_url).
        "share_target": {
            "action": page,
            "method": "GET",
            "enctype": "application/x-www-form-urlencoded",  # GET's; said, as Chromium asks
            "params": {field: field for field in SHARED_FIELDS},
        },
    }
    response = JsonResponse(body, json_dumps_params={"indent": 1})
    response["Content-Type"] = "application/manifest+json"
    return response


# The worker's own policy: it fetches this origin's files, nothing else.
SERVICE_WORKER_POLICY = "default-src 'none'; connect-src 'self'"


@never_cache
@require_GET
def service_worker(request):
    files = page_files()
    context = {
        "version": json.dumps(assets_digest(files)),
        "assets": json.dumps([static(name) for name in files], indent=1),
    }
    text = render_to_string("page/service-worker.js", context)
    response = HttpResponse(text, content_type="text/javascript; charset=utf-8")
    response["Content-Security-Policy"] = SERVICE_WORKER_POLICY
    return response
