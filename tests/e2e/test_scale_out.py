"""The production profile: PostgreSQL + Redis, two gunicorn workers and two qcluster
processes competing for one queue, as several machines would (they share DATABASE_URL,
REDIS_URL, SECRET_KEY and DOWNLOAD_DIR; here one DATA_DIR stands for the shared volume).

Proves what "several web and worker processes cooperate" means: every task runs exactly
once on one of the clusters, both clusters take work, the rate limit holds exactly across
web processes, a site's SITE_CONCURRENCY across the clusters' workers, and cleanup runs
once per schedule occurrence although both clusters run the scheduler at the same moment,
and a key's byte quota holds exactly across them too.

Skipped without TEST_POSTGRES_URL and TEST_REDIS_URL (tests/support/backends.py); .ci/run starts
the servers with scripts/test-services.sh.
"""

import collections
import itertools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests

from tests.support.backends import fresh_postgres_and_redis
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

# Minutes; also the rate-limit window (6 s). Tasks expire 6 s after they finish, so the
# first scheduled cleanup (~30 s after the clusters start) finds them expired.
CLEANUP_MINUTES = 0.1
INFO_TASKS = 20
VIDEO_TASKS = 3
RATE_LIMIT = 5
TASK_PERMISSIONS = ["get_video", "get_audio", "get_info"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with fresh_postgres_and_redis(redis_db=2) as backends:
        env = {
            **backends,
            "TASK_CLEANUP_TIME": str(CLEANUP_MINUTES),
            "MAX_WORKERS": "3",
            # One key submits everything here: let it use every worker of both clusters.
            "MAX_TASKS_PER_KEY": "6",
            # The media server on 127.0.0.2 only (the other tests' is on 127.0.0.1).
            "SITE_CONCURRENCY": "127.0.0.2=1",
            # The admin key creates the bulk key, whose limit cannot exceed its own.
            "REQUEST_LIMIT": "1000",
            # The clusters' logs say which cluster ran what: our task lines at INFO, and
            # django-q2's "processing" of each scheduled run, which an idle service logs at
            # DEBUG (ytdlphost.logging.QueueRoutineAsDebug).
            "LOG_LEVEL": "DEBUG",
        }
        with LiveStack(tmp_path_factory.mktemp("scale-out"), clusters=2, env=env) as running:
            yield running


@pytest.fixture(scope="module")
def created() -> list[str]:
    """Ids of every task this module created (the cleanup test expects them all deleted)."""
    return []


@pytest.fixture(scope="module")
def bulk_key(stack) -> str:
    return stack.create_key("bulk", TASK_PERMISSIONS, request_limit=1000)


def submit(stack: LiveStack, key: str, endpoint: str, url: str) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/{endpoint}", headers={"X-API-Key": key}, json={"url": url}, timeout=30
    )


def run_tasks(stack, key, created, jobs: list[tuple[str, str]]) -> dict[str, dict]:
    """Submit (endpoint, url) jobs concurrently, wait for all; returns the final /status of
    each by task id, in the order of `jobs`."""

    def one(job):
        response = submit(stack, key, *job)
        assert response.status_code == 200, response.text
        return response.json()["task_id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        task_ids = list(pool.map(one, jobs))
    created.extend(task_ids)
    # All polled together: a task finished early is seen before the every-minute cleanup
    # (CLEANUP_MINUTES after it finished) removes it.
    pending, deadline = set(task_ids), time.monotonic() + 180
    finished = {}
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} tasks did not finish"
        for task_id in list(pending):
            status = requests.get(
                f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=10
            ).json()
            if status["status"] in ("completed", "error"):
                assert status["status"] == "completed", status
                pending.discard(task_id)
                finished[task_id] = status
        time.sleep(0.2)
    return {task_id: finished[task_id] for task_id in task_ids}


def fetches(records, query: str) -> collections.Counter:
    """Requests to the media server per path, among those with this query string."""
    return collections.Counter(r.path for r in records if r.query == query)


def cluster_logs(stack: LiveStack) -> list[str]:
    return [stack.cluster_log(i).read_text(errors="replace") for i in range(stack.clusters)]


def test_healthz_sees_both_clusters_through_redis(stack):
    # The clusters report their status into Redis; any web process reads it from there.
    deadline = time.monotonic() + 30
    while True:
        body = requests.get(f"{stack.base_url}/healthz", timeout=10).json()
        if body["checks"]["workers"].get("clusters") == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert body["status"] == "ok", body
    assert body["checks"]["workers"]["clusters"] == 2, body
    assert body["checks"]["broker"]["ok"], body


def test_the_rate_limit_holds_exactly_across_web_processes(stack, created, progressive_url):
    key = stack.create_key("limited", TASK_PERMISSIONS, request_limit=RATE_LIMIT)
    start = threading.Barrier(3 * RATE_LIMIT, timeout=30)

    def attempt(n: int) -> requests.Response:
        start.wait()
        return submit(stack, key, "get_info", f"{progressive_url}?rate-limit={n}")

    with ThreadPoolExecutor(max_workers=3 * RATE_LIMIT) as pool:
        responses = list(pool.map(attempt, range(3 * RATE_LIMIT)))
    codes = collections.Counter(response.status_code for response in responses)
    assert codes == {200: RATE_LIMIT, 429: 2 * RATE_LIMIT}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in responses if r.status_code == 429)
    accepted = [r.json()["task_id"] for r in responses if r.status_code == 200]
    created.extend(accepted)
    for task_id in accepted:
        assert stack.wait_for(task_id, key, timeout=120)["status"] == "completed"


def test_every_task_runs_exactly_once_on_one_of_two_clusters(
    stack, bulk_key, created, media_server, progressive_url, dash_url
):
    # What one execution fetches: one task of each kind, alone. Every task URL carries its
    # own query string, so the media server's log attributes each request to its task
    # (DASH segments, fetched by relative URL, carry no query: those are counted in total).
    mark = len(media_server.records())
    run_tasks(stack, bulk_key, created, [("get_info", f"{progressive_url}?n=info-ref")])
    run_tasks(stack, bulk_key, created, [("get_video", f"{dash_url}?n=video-ref")])
    reference = media_server.records()[mark:]
    one_info = fetches(reference, "n=info-ref")
    one_video = fetches(reference, "n=video-ref")
    video_unqueried = fetches(reference, "")  # DASH segments of the one video task
    assert one_info and one_video and sum(one_info.values()) >= 1

    mark = len(media_server.records())
    jobs = [("get_info", f"{progressive_url}?n=info-{i}") for i in range(INFO_TASKS)]
    jobs += [("get_video", f"{dash_url}?n=video-{i}") for i in range(VIDEO_TASKS)]
    task_ids = run_tasks(stack, bulk_key, created, jobs)
    records = media_server.records()[mark:]

    # Each task fetched exactly what one execution fetches: none ran twice, none was lost.
    for i in range(INFO_TASKS):
        assert fetches(records, f"n=info-{i}") == one_info, f"info task {i}"
    for i in range(VIDEO_TASKS):
        assert fetches(records, f"n=video-{i}") == one_video, f"video task {i}"
    expected_segments = collections.Counter()
    for _ in range(VIDEO_TASKS):
        expected_segments.update(video_unqueried)
    assert fetches(records, "") == expected_segments

    # Each task was claimed by exactly one worker of one cluster, and both clusters took a
    # share ("task <id> processing: ..." is logged by a successful claim). A task deferred
    # for its key's cap (MAX_TASKS_PER_KEY) is delivered again when a slot frees, so
    # deliveries may be two; runs may not.
    logs = cluster_logs(stack)
    for task_id in task_ids:
        runs = [log.count(f"task {task_id} processing:") for log in logs]
        assert sum(runs) == 1, (task_id, runs)
    per_cluster = [sum(f"task {t} processing:" in log for t in task_ids) for log in logs]
    assert all(per_cluster), f"a cluster ran no task: {per_cluster}"


def test_a_sites_cap_holds_across_both_clusters(stack, bulk_key, created, allowed_media):
    # Six workers on two clusters may take these at once; SITE_CONCURRENCY lets one run.
    jobs = [("get_info", allowed_media.url(f"progressive.mp4?n=site-{i}")) for i in range(3)]
    statuses = run_tasks(stack, bulk_key, created, jobs).values()
    runs = sorted(
        tuple(datetime.fromisoformat(status[moment]) for moment in ("started_at", "finished_at"))
        for status in statuses
    )
    for earlier, later in itertools.pairwise(runs):
        assert later[0] >= earlier[1], runs  # each started once the one before had ended


def test_a_task_of_a_machine_gone_down_is_taken_over_by_one_cluster_only(
    stack, bulk_key, created, progressive_url
):
    # Both clusters look for interrupted tasks every 2.5 s; the first to take it wins.
    task_id = stack.manage("shell", "-c", (
        "from datetime import timedelta; from django.utils import timezone; "
        "from downloads_app.models import Task; from keys_app.models import APIKey; "
        "task = Task.objects.create(api_key=APIKey.objects.get(name='bulk'), "
        f"task_type='get_info', url='{progressive_url}?n=taken-over', status='processing', "
        "attempts=1, worker='gone/0123456789ab.4026531836:7', started_at=timezone.now(), "
        "heartbeat_at=timezone.now() - timedelta(minutes=5)); print(task.id)"
    )).split()[-1]  # fmt: skip
    created.append(task_id)
    status = stack.wait_for(task_id, bulk_key, timeout=60)
    assert status["status"] == "completed", status
    logs = cluster_logs(stack)
    assert sum(log.count(f"task {task_id} processing:") for log in logs) == 1
    assert sum(log.count("recovered interrupted tasks: 1 requeued") for log in logs) == 1


PROGRESSIVE_SIZE = 898_876  # progressive.mp4, as its get_info says (filesize)


def test_the_byte_quota_holds_exactly_across_web_processes_and_stops_a_download_past_it(
    stack, created, progressive_url
):
    # Room for two downloads of a size the key looked up, and half of a third.
    quota = 2 * PROGRESSIVE_SIZE + PROGRESSIVE_SIZE // 2
    key = stack.create_key("quota", TASK_PERMISSIONS, request_limit=1000, quota_bytes=quota)
    known = f"{progressive_url}?n=quota-known"
    created.append(stack.submit(key, "/get_info", {"url": known}))
    assert stack.wait_for(created[-1], key)["status"] == "completed"

    start = threading.Barrier(20, timeout=30)

    def attempt(n: int) -> requests.Response:
        start.wait()
        return submit(stack, key, "get_video", known)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(20)))
    codes = collections.Counter(response.status_code for response in responses)
    assert codes == {200: 2, 429: 18}
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-Quota-Bytes-Remaining"] == str(PROGRESSIVE_SIZE // 2)
    assert f"the task needs 877.8 KB ({PROGRESSIVE_SIZE} bytes)" in refused.json()["error"]
    accepted = [r.json()["task_id"] for r in responses if r.status_code == 200]
    created.extend(accepted)
    for task_id in accepted:
        assert stack.wait_for(task_id, key)["status"] == "completed"

    # Of unknown size (never looked up), served slowly: the half left is passed while the
    # download runs, on whichever cluster took it.
    stopped = stack.submit(key, "/get_video", {"url": f"{progressive_url}?rate=300000&n=quota"})
    created.append(stopped)
    status = stack.wait_for(stopped, key)
    assert (status["status"], status["error_code"]) == ("error", "quota_exceeded"), status
    assert status["retry_after"] >= 1
    assert stack.task_files(stopped) == []  # the partial file went with the run
    me = requests.get(f"{stack.base_url}/me", headers={"X-API-Key": key}, timeout=10).json()
    assert quota < me["quota"]["key"]["used"] < 3 * PROGRESSIVE_SIZE
    assert me["quota"]["key"]["remaining"] == 0


def cleanup_runs(stack: LiveStack) -> list[dict]:
    """django-q2's record of every cleanup execution (started, result), from PostgreSQL."""
    import psycopg
    from picklefield.fields import dbsafe_decode

    with psycopg.connect(stack.env["DATABASE_URL"]) as connection:
        rows = connection.execute(
            "SELECT started, result FROM django_q_task"
            " WHERE func = 'downloads_app.tasks.cleanup' ORDER BY started"
        ).fetchall()
    return [{"started": started, "result": dbsafe_decode(result)} for started, result in rows]


def test_cleanup_runs_once_per_occurrence_and_deletes_every_expired_task(stack, created):
    assert created, "runs after the tests that create tasks"
    # The clusters' schedulers both wake ~30 s after start, then every ~30 s; each
    # occurrence of the every-minute schedule must be taken by one of them only.
    deadline = time.monotonic() + 150
    remaining = set(created)
    while remaining and time.monotonic() < deadline:
        for task_id in list(remaining):
            response = requests.get(
                f"{stack.base_url}/status/{task_id}",
                headers={"X-API-Key": stack.admin_key},
                timeout=10,
            )
            if response.status_code == 410:  # cleaned up: expired (a tombstone is left)
                remaining.discard(task_id)
        time.sleep(1)
    assert not remaining, f"{len(remaining)} expired tasks were not cleaned up"

    # The cleanup's own result is saved by the cluster's monitor just after it returns.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = cleanup_runs(stack)
        if sum(run["result"]["tasks_deleted"] for run in runs) >= len(created):
            break
        time.sleep(0.5)
    time.sleep(3)  # a duplicate run of the same occurrence would have ended by now
    runs = cleanup_runs(stack)

    assert runs
    # Occurrences are a minute apart and each runs at the first scheduler pass after it
    # (passes come every ~30 s), so two runs are at least ~30 s apart; two runs of one
    # occurrence would be a second or two apart.
    starts = [run["started"] for run in runs]
    assert all(b - a > timedelta(seconds=10) for a, b in zip(starts, starts[1:], strict=False)), (
        f"cleanup ran more than once for one occurrence: {starts}"
    )
    # Every expired task was deleted by exactly one run (a concurrent duplicate would have
    # counted the same tasks again).
    assert sum(run["result"]["tasks_deleted"] for run in runs) == len(created)
    logs = cluster_logs(stack)
    cleanup_line = re.compile(r" processing \S+ 'downloads_app\.tasks\.cleanup'")
    assert sum(len(cleanup_line.findall(log)) for log in logs) == len(runs)
    downloads = stack.data_dir / "downloads"
    assert not [p for p in downloads.iterdir() if p.is_dir()], "task directories left behind"
