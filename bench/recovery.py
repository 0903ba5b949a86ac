"""How fast interrupted tasks run again (issue 13), on the real stack with its defaults
(STALE_TASK_TIMEOUT 30 s, a heartbeat every 5 s), RUNS times each:

same machine   A cluster is SIGKILLed with every process it started (workers, the task's
               child, ffmpeg) during a live recording, then started again. Measured: the
               restart to the recording's second run starting (its row's `started_at`),
               beside the baseline of the same restart: when the restarted cluster starts
               a fresh get_info queued just before (how long a cluster takes to come up).
another        A cluster in a pid namespace of its own (as another machine: the others
machine        cannot look its workers up) runs a slow download and is killed with
               everything in it while a second cluster runs. Measured: the kill to the
               task's requeue (its `queued_at`) and to its second run starting, beside the
               baseline STALE_TASK_TIMEOUT, and the heartbeat's age at the kill.

Needs root for the pid namespace (unshare). About 3 minutes.

    .venv/bin/python bench/recovery.py
"""

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.processes import wait_until  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

RUNS = 3
RECORDING = 10  # seconds: what is measured is the restart, not the recording
STALE_TASK_TIMEOUT = 30.0  # the default, which the stacks here run with


def epoch(text: str | None) -> float:
    """A timestamp of a task row (SQLite stores UTC text) as seconds since the epoch."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def same_machine(media: MediaServer, work: Path) -> tuple[float, float]:
    """(restart → the recording running again, restart → a fresh task running), seconds."""
    with LiveStack(work, clusters=0) as stack:
        cluster = stack.start_cluster()
        key = stack.create_key("bench", ["get_live_video", "get_info"])
        task_id = stack.start_recording(key, media.url("live/index.m3u8"), RECORDING)
        stack.kill_cluster(cluster)
        fresh_id = stack.submit(key, "/get_info", {"url": media.url("progressive.mp4")})
        restarted = time.time()
        stack.start_cluster()
        wait_until(lambda: stack.task_row(task_id)["attempts"] == 2, 60, "never ran again")
        wait_until(lambda: stack.task_row(fresh_id)["started_at"], 60, "fresh task never ran")
        recovered = epoch(stack.task_row(task_id)["started_at"]) - restarted
        fresh = epoch(stack.task_row(fresh_id)["started_at"]) - restarted
        assert stack.wait_for(task_id, key, timeout=60)["status"] == "completed"
        return recovered, fresh


def another_machine(media: MediaServer, work: Path) -> tuple[float, float, float]:
    """(kill → requeue, kill → running again, heartbeat age at the kill), seconds."""
    with LiveStack(work, clusters=0) as stack:
        remote = stack.start_cluster(work / "remote.log", own_machine=True)
        key = stack.create_key("bench", ["get_video"])
        url = media.url("progressive.mp4") + "?rate=100000"  # about 9 s
        task_id = stack.submit(key, "/get_video", {"url": url})
        wait_until(lambda: stack.task_files(task_id), 30, "the download never started")
        stack.start_cluster(work / "local.log")
        time.sleep(2)  # the local cluster is up before the remote one goes
        last_beat = epoch(stack.task_row(task_id)["heartbeat_at"])
        killed = time.time()
        stack.kill_cluster(remote)
        wait_until(lambda: stack.task_row(task_id)["attempts"] == 2, 90, "never ran again")
        row = stack.task_row(task_id)
        requeued, running = epoch(row["queued_at"]), epoch(row["started_at"])
        return requeued - killed, running - killed, killed - last_beat


def main() -> None:
    generate_media(MEDIA_CACHE_DIR)
    with MediaServer(MEDIA_CACHE_DIR) as media, tempfile.TemporaryDirectory() as work:
        same = [same_machine(media, Path(work) / f"same-{i}") for i in range(RUNS)]
        other = [another_machine(media, Path(work) / f"other-{i}") for i in range(RUNS)]
    print(f"same machine, SIGKILL of the whole cluster during a {RECORDING} s recording, restart:")
    for recovered, fresh in same:
        print(f"  running again {recovered:5.2f} s after the restart; a fresh task {fresh:5.2f} s"
              f" (ratio {recovered / fresh:.2f})")  # fmt: skip
    median = statistics.median(r / f for r, f in same)
    print(f"  median ratio recovered/fresh: {median:.2f}")
    print(f"another machine gone (STALE_TASK_TIMEOUT {STALE_TASK_TIMEOUT:g} s, a beat every 5 s):")
    for requeued, running, beat_age in other:
        print(f"  requeued {requeued:5.2f} s after the kill, running {running:5.2f} s"
              f" (last beat {beat_age:4.2f} s before the kill;"
              f" ratio to the timeout {requeued / STALE_TASK_TIMEOUT:.2f})")  # fmt: skip
    median = statistics.median(requeued for requeued, _, _ in other)
    print(f"  median kill → requeue: {median:.2f} s")


if __name__ == "__main__":
    main()
