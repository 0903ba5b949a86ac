"""The downloads' Prometheus metrics, added to /metrics (ytdlphost/metrics.py) from this
app's ready(): task outcomes counted by the workers, and gauges of the tasks and of the
sites backing off in the database, read when /metrics is scraped, so they cover every
machine."""

from django.conf import settings
from django.db.models import Count

from downloads_app import site_limits
from downloads_app.models import Task, TaskStatus

_task_metrics = None


def task_metrics() -> dict:
    global _task_metrics
    if _task_metrics is None:
        from prometheus_client import Counter, Histogram

        _task_metrics = {
            "finished": Counter(
                "ytdlphost_tasks_finished_total", "Tasks finished", ["task_type", "status"]
            ),
            "duration": Histogram(
                "ytdlphost_task_duration_seconds",
                "Time from claim to finish",
                ["task_type"],
                buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800),
            ),
            "bytes": Counter(
                "ytdlphost_downloaded_bytes_total", "Bytes of published files", ["task_type"]
            ),
            "quota_counted": Counter(
                "ytdlphost_quota_counted_bytes_total",
                "Bytes written by downloads and counted by the byte quotas (quotas.py)",
            ),
            "quota_refusals": Counter(
                "ytdlphost_quota_refusals_total",
                "Task submissions refused with 429 by a byte quota",
                ["scope"],
            ),
            "quota_stops": Counter(
                "ytdlphost_quota_stops_total",
                "Tasks ended quota_exceeded by a byte quota (stopped while downloading, or "
                "before, their size known)",
                ["scope"],
            ),
        }
    return _task_metrics


def record_task_finished(task_type: str, status: str, seconds: float, size: int) -> None:
    if not settings.METRICS_ENABLED:
        return
    found = task_metrics()
    found["finished"].labels(task_type, status).inc()
    found["duration"].labels(task_type).observe(seconds)
    if size:
        found["bytes"].labels(task_type).inc(size)


def record_bytes_counted(size: int) -> None:
    if settings.METRICS_ENABLED:
        task_metrics()["quota_counted"].inc(size)


def record_quota_refusal(scope: str) -> None:
    """`scope`: key or server (quotas.KEY, quotas.SERVER)."""
    if settings.METRICS_ENABLED:
        task_metrics()["quota_refusals"].labels(scope).inc()


def record_quota_stop(scope: str) -> None:
    if settings.METRICS_ENABLED:
        task_metrics()["quota_stops"].labels(scope).inc()


class QuotaGauges:
    """The server's bytes in the rolling QUOTA_WINDOW, read from the database (so every
    machine's), and its TOTAL_QUOTA_BYTES."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from downloads_app import quotas

        used = quotas.server_usage()
        window = GaugeMetricFamily(
            "ytdlphost_quota_window_bytes",
            "Bytes in the byte quotas' rolling window (QUOTA_WINDOW): written by downloads, "
            "or reserved by waiting and running tasks of a known size",
            labels=["kind"],
        )
        window.add_metric(["written"], used["written"])
        window.add_metric(["reserved"], used["reserved"])
        yield window
        yield GaugeMetricFamily(
            "ytdlphost_quota_total_bytes",
            "TOTAL_QUOTA_BYTES, the server's bytes per window (0: no quota)",
            value=settings.TOTAL_QUOTA_BYTES,
        )


class TaskGauges:
    """Tasks in the database by type and status, and the queue depth."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        tasks = GaugeMetricFamily(
            "ytdlphost_tasks", "Tasks in the database by type and status",
            labels=["task_type", "status"],
        )  # fmt: skip
        counts = Task.objects.values("task_type", "status").annotate(n=Count("id"))
        for row in counts.order_by("task_type", "status"):
            tasks.add_metric([row["task_type"], row["status"]], row["n"])
        yield tasks
        waiting = Task.objects.filter(status=TaskStatus.WAITING).count()
        yield GaugeMetricFamily(
            "ytdlphost_queue_depth", "Tasks waiting for a worker", value=waiting
        )


class SiteBackoffGauges:
    """The sites backing off now (site_limits.py): when each resumes, and its refusals in a
    row. A series lasts as long as its site's backoff, so the sites label holds only the
    few that refuse at the time."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        until = GaugeMetricFamily(
            "ytdlphost_site_backoff_until_seconds",
            "When a site backing off after refusing tasks resumes (Unix time)",
            labels=["site"],
        )
        refusals = GaugeMetricFamily(
            "ytdlphost_site_refusals", "Refusals in a row of a site backing off", labels=["site"]
        )
        for backoff in site_limits.backoffs():
            until.add_metric([backoff["site"]], backoff["until"].timestamp())
            refusals.add_metric([backoff["site"]], backoff["refusals"])
        yield until
        yield refusals


class YtdlpInfo:
    """The yt-dlp this host runs, as the labels of an info gauge (ytdlp_versions.py)."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from downloads_app import ytdlp_versions

        active = ytdlp_versions.current()
        info = GaugeMetricFamily(
            "ytdlphost_yt_dlp_info", "The yt-dlp this host runs: its version and where it "
            "came from (bundled with the image, or updated at runtime)",
            labels=["version", "source"],
        )  # fmt: skip
        info.add_metric([active.version, active.source], 1)
        yield info
