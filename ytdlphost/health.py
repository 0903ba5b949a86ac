"""GET /healthz: is this service able to do its work? No key needed.

200 when every part is healthy, 503 otherwise; the body says which part failed.
`?skip=workers` leaves out the worker check (a load balancer probing only the web side).
Apps add checks of their own with `register_check` from their ready() (downloads_app:
`sites`, the sites backing off).
"""

import logging
import shutil
import time
from urllib.parse import parse_qs

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from ytdlphost import fast_path

logger = logging.getLogger("ytdlphost.health")

# A cluster that has not reported for this long is considered gone.
CLUSTER_STALE_SECONDS = 30


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def check_broker() -> dict:
    from django_q.brokers import get_broker

    broker = get_broker()
    if not broker.ping():
        return {"ok": False, "error": "the queue broker does not answer"}
    return {"ok": True, "queued": broker.queue_size()}


def check_workers() -> dict:
    from django_q.status import Stat

    now = time.time()
    alive = [
        stat for stat in Stat.get_all()
        if stat.tob and now - stat.timestamp.timestamp() < CLUSTER_STALE_SECONDS
    ]  # fmt: skip
    if not alive:
        return {"ok": False, "error": "no worker cluster is running (manage.py qcluster)"}
    return {"ok": True, "clusters": len(alive), "workers": sum(len(s.workers) for s in alive)}


def check_disk() -> dict:
    usage = shutil.disk_usage(settings.DOWNLOAD_DIR)
    body = {"free_bytes": usage.free, "min_free_bytes": settings.MIN_FREE_DISK}
    if usage.free < settings.MIN_FREE_DISK:
        return {"ok": False, "error": "free disk below MIN_FREE_DISK", **body}
    return {"ok": True, **body}


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "workers": check_workers,
    "disk": check_disk,
}

# What /healthz says when a check raises. The endpoint needs no key, and exception texts
# name internal hosts, ports, paths and users: those go to the log only.
FAILURE_MESSAGES = {
    "database": "database unreachable",
    "broker": "queue broker unreachable",
    "workers": "worker status unavailable",
    "disk": "download directory unreadable",
}


def register_check(name: str, check, failure_message: str) -> None:
    """Add a part to /healthz: `check()` returns its body with `ok`; `failure_message` is
    what /healthz says when it raises. For the apps that come after this one (their
    ready()), which this module cannot import."""
    CHECKS[name] = check
    FAILURE_MESSAGES[name] = failure_message


def healthz(request):
    return health_response(set(request.GET.getlist("skip")))


def healthz_answer(request) -> fast_path.Answer:
    """/healthz off Django's request cycle (ytdlphost/fast_path.py): the same checks and
    body, without the eleven middlewares around them, about half of its cost
    (bench/profile_status.py --target healthz). A probe polls it."""
    skipped = set(parse_qs(request.query_string, keep_blank_values=True).get("skip", ()))
    response = health_response(skipped)
    headers = [(b"content-type", response["Content-Type"].encode("latin-1"))]
    return fast_path.Answer(response.status_code, response.content, headers)


def health_response(skipped: set[str]) -> JsonResponse:
    results = {}
    for name, check in CHECKS.items():
        if name in skipped:
            continue
        try:
            results[name] = check()
        except Exception:  # a health check reports failures, it does not raise
            logger.warning("health check %s failed", name, exc_info=True)
            results[name] = {"ok": False, "error": FAILURE_MESSAGES[name]}
    healthy = all(result["ok"] for result in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": results},
        status=200 if healthy else 503,
    )
