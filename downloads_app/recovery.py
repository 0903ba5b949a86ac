"""When recovery runs: as a cluster starts, and every few seconds while it runs.

A task whose worker died is found by maintenance.task_recover_interrupted: at once when the
worker was of this host (its process is gone), once its heartbeat is STALE_TASK_TIMEOUT
old when it was of another. The every-minute maintenance schedule would add up to a
minute to that, so each cluster (`manage.py qcluster`, management/commands/qcluster.py)
runs it itself:

    at start          before its workers start: the tasks that the previous cluster of
                      this host left when it was killed are queued first
    while it runs     every heartbeat.recovery_interval() (2.5 s by default), from a thread
                      of the cluster's main process, which otherwise only waits

With several clusters (on one host or many) each runs it; a task is taken by one of them
only (a conditional UPDATE). When nothing is interrupted a pass is one query.

Each pass also queues the tasks that a site held back once its backoff has ended
(maintenance.resume_sites: one more query when none has), so that they resume within a
pass of its end rather than at the next minute.
"""

import logging
import threading

from django.db import DatabaseError, close_old_connections, connections

from downloads_app import maintenance

logger = logging.getLogger("ytdlphost.tasks")


def recover_interrupted_tasks() -> None:
    """One pass; a database that cannot be reached is only logged (the next pass tries
    again), so that the watch never ends on an error."""
    close_old_connections()  # honours CONN_MAX_AGE and its health checks, as a request does
    try:
        maintenance.task_recover_interrupted()
        maintenance.resume_sites()
    except DatabaseError as exc:
        logger.warning("recovery of interrupted tasks failed, tried again shortly: %s", exc)
    except Exception:
        logger.exception("recovery of interrupted tasks failed")


class RecoveryWatch(threading.Thread):
    """Runs a recovery pass every `interval` seconds until `stopping()` says the cluster
    is stopping: the tasks its own stopping interrupts are left to the next start, as a
    Ctrl-C promises (supervisor.py)."""

    def __init__(self, interval: float, stopping):
        super().__init__(name="recovery-watch", daemon=True)
        self.interval = interval
        self.stopping = stopping
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(self.interval) and not self.stopping():
                recover_interrupted_tasks()
        finally:
            connections.close_all()  # this thread's

    def stop(self) -> None:
        self.done.set()
        self.join()
