"""Prometheus metrics (METRICS_ENABLED) at /metrics: HTTP requests here, and whatever the
apps register with `register_collector` (downloads_app: task outcomes and the task gauges
read from the database when /metrics is scraped).

Counters and histograms are written by every web process and worker of a host into
PROMETHEUS_MULTIPROC_DIR and added up at scrape time.
"""

import time

from django.conf import settings
from django.http import HttpResponse

from ytdlphost.errors import json_not_found

_metrics = None
# Collectors that apps add from their ready(); asked at every scrape.
_collectors = []


def register_collector(collector) -> None:
    """Add a prometheus_client collector (an object with collect()) to /metrics."""
    _collectors.append(collector)


def metrics():
    """The HTTP metric objects, created on first use."""
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
            ),
        }
    return _metrics


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


def metrics_view(request):
    if not settings.METRICS_ENABLED:
        return json_not_found(request)  # as if the route did not exist
    metrics()  # register this process's metrics even before its first request
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for collector in _collectors:
        registry.register(collector)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
