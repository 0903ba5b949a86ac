"""django-q2's ORM broker, woken at once when a task is queued on the same host.

The ORM broker's pusher (one process per cluster) looks for queued tasks in the database
and, finding none, sleeps Q_CLUSTER["poll"] seconds: a task queued just after a look waits
up to that long before a worker sees it, half of it on average. Here, whoever queues a
task also writes a byte into a named pipe in DATA_DIR, and an idle pusher waits on that
pipe instead of sleeping, with the poll as its timeout. So a task queued on the host
where a cluster runs (the default: web and worker on one machine) is dequeued within
milliseconds, while clusters on other machines sharing the database, or a filesystem
without named pipes, still find it by polling as before.

The byte says "look now", never what to run: the database stays the queue, and a lost or
extra byte costs at most one poll or one empty look. One byte wakes one pusher; the
others on the host find the task at their next poll, and since the woken one took it,
they would find nothing anyway.
"""

import contextlib
import errno
import logging
import os
import select
import stat
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf

logger = logging.getLogger("ytdlphost.tasks")

WAKE_UP_PIPE_NAME = "queue-wake-up"


def wake_up_pipe() -> Path:
    return settings.DATA_DIR / WAKE_UP_PIPE_NAME


def wake_up_pusher() -> None:
    """Tell an idle pusher on this host to look for tasks now; nothing when none listens
    (ENXIO: no cluster has the pipe open), the pipe is full (EAGAIN: a wake-up is pending
    anyway), missing, or not a pipe."""
    try:
        fd = os.open(wake_up_pipe(), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):  # never into a file someone put there
            os.write(fd, b"!")
    except OSError as exc:
        if exc.errno != errno.EAGAIN:
            logger.debug("queue wake-up not sent: %s", exc)
    finally:
        os.close(fd)


class WakingORM(ORM):
    """The ORM broker; its pusher waits on the wake-up pipe between polls."""

    _wake_up_fd: int | None = None

    def enqueue(self, task):
        package_id = super().enqueue(task)
        wake_up_pusher()
        return package_id

    def dequeue(self):
        listening = self._listen()
        if listening is None:
            return super().dequeue()  # polls alone: finds tasks, or sleeps the poll
        # Drained before looking: a wake-up sent after the look is still pending below.
        _drain(listening)
        if self.get_connection().filter(key=self.list_key, lock__lt=timezone.now()).exists():
            return super().dequeue()
        select.select([listening], [], [], Conf.POLL)
        return None

    def _listen(self) -> int | None:
        """The pipe's descriptor, opened on first use; None when there can be none.

        Opened for reading and writing, so that it never reads as closed while no one
        writes, and non-blocking, so that draining it never waits.
        """
        if self._wake_up_fd is None:
            self._wake_up_fd = _open_wake_up_pipe()
        return None if self._wake_up_fd < 0 else self._wake_up_fd


def _open_wake_up_pipe() -> int:
    """The pipe, created when missing, opened for the pusher; -1 when it cannot be."""
    path = wake_up_pipe()
    try:
        with contextlib.suppress(FileExistsError):
            os.mkfifo(path, 0o600)
        if not stat.S_ISFIFO(os.stat(path).st_mode):
            raise OSError(f"{path} is not a named pipe")
        return os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError as exc:
        logger.warning("no queue wake-up pipe (%s): the queue is polled only", exc)
        return -1


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass
