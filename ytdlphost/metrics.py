"""Prometheus metrics (METRICS_ENABLED): HTTP requests, task outcomes, and gauges read
from the database when /metrics is scraped.

Counters and histograms are written by every web process and worker of a host into
PROMETHEUS_MULTIPROC_DIR and added up at scrape time; the task gauges come from the
database and so cover every machine.
"""

import time

from django.conf import settings
from django.http import HttpResponse

from ytdlphost.errors import json_not_found

_metrics = None


def metrics():
    """The metric objects, created on first use (prometheus_client reads its
    multiprocess directory from the environment at import)."""
    global _metrics
    if _metrics is None:
        from prometheus_client import Counter, Histogram

        _metrics = {
            "requests": Counter(
                "ytdlphost_http_requests_total", "HTTP requests", ["method", "route", "status"]
            ),
            "latency": Histogram(
                "ytdlphost_http_request_duration_seconds",
                "HTTP request latency",
                ["method", "route"],
            ),  # fmt: skip
            "tasks_finished": Counter(
                "ytdlphost_tasks_finished_total", "Tasks finished", ["task_type", "status"]
            ),
            "task_duration": Histogram(
                "ytdlphost_task_duration_seconds",
                "Time from claim to finish",
                ["task_type"],
                buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800),
            ),  # fmt: skip
            "bytes": Counter(
                "ytdlphost_downloaded_bytes_total", "Bytes of published files", ["task_type"]
            ),
        }
    return _metrics


def record_task_finished(task_type: str, status: str, seconds: float, size: int) -> None:
    if not settings.METRICS_ENABLED:
        return
    found = metrics()
    found["tasks_finished"].labels(task_type, status).inc()
    found["task_duration"].labels(task_type).observe(seconds)
    if size:
        found["bytes"].labels(task_type).inc(size)


# Label values must come from a fixed set: every new value is a new series, kept in the
# multiprocess files across restarts. Anyone can send any method (`FOO`, `X1`, ...) and
# any path without a key, so those outside the set share one label each.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"


def method_label(method: str | None) -> str:
    return method if method in KNOWN_METHODS else OTHER_METHOD


def route_label(request) -> str:
    """The URL pattern that matched, never the path: task ids and random paths must not
    become label values."""
    match = getattr(request, "resolver_match", None)
    return match.route if match and match.route else UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.METRICS_ENABLED:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        method, route = method_label(request.method), route_label(request)
        found = metrics()
        found["requests"].labels(method, route, response.status_code).inc()
        found["latency"].labels(method, route).observe(time.perf_counter() - started)
        return response


def _database_gauges() -> str:
    from django.db.models import Count

    from downloads_app.models import Task

    lines = [
        "# HELP ytdlphost_tasks Tasks in the database by type and status",
        "# TYPE ytdlphost_tasks gauge",
    ]
    counts = Task.objects.values("task_type", "status").annotate(n=Count("id"))
    for row in counts.order_by("task_type", "status"):
        lines.append(
            f'ytdlphost_tasks{{task_type="{row["task_type"]}",status="{row["status"]}"}} {row["n"]}'
        )
    waiting = Task.objects.filter(status="waiting").count()
    lines += [
        "# HELP ytdlphost_queue_depth Tasks waiting for a worker",
        "# TYPE ytdlphost_queue_depth gauge",
        f"ytdlphost_queue_depth {waiting}",
    ]
    return "\n".join(lines) + "\n"


def metrics_view(request):
    if not settings.METRICS_ENABLED:
        return json_not_found(request)  # as if the route did not exist
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    metrics()  # register this process's metrics even before its first request
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    body = generate_latest(registry).decode() + _database_gauges()
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
