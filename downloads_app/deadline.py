"""A call that cannot outlive a deadline: run in a forked child, killed when it passes.

yt-dlp's socket timeout restarts with every byte, so a server that drips its answer holds
whatever calls yt-dlp for as long as it likes. A task's extraction is bounded by the
worker that supervises its child (supervisor.py). A subscription's listing runs outside
any task, in a worker's check and in the web request that creates the subscription
(subscriptions_app/checks.py): it is bounded here, by the same EXTRACTION_TIMEOUT.

The child is a fork, as a task's is (processes.become_child): it inherits the loaded
yt-dlp, keeps none of the service's secrets in its environment, never uses the database,
dies with its parent, and sends its result back over a pipe, pickled. The parent waits on
the pipe until the deadline, then kills the child's process group.
"""

import contextlib
import os
import pickle
import select
import time
from collections.abc import Callable

from downloads_app import processes
from downloads_app.errors import DownloadFailed, ErrorCode


def _child(function: Callable, args: tuple, write_fd: int, parent: int) -> None:
    """The child's whole life; never returns."""
    try:
        processes.become_child(parent)
        try:
            outcome = ("returned", function(*args))
        except DownloadFailed as exc:
            outcome = ("failed", (str(exc), exc.code, exc.detail, exc.retry_after))
        except Exception as exc:  # the parent raises it as an internal failure
            outcome = ("raised", f"{type(exc).__name__}: {exc}")
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(pickle.dumps(outcome))
    finally:
        os._exit(0)


def call_with_deadline(function: Callable, args: tuple, seconds: float, timeout_message: str):
    """`function(*args)`'s result, computed in a child process. Its DownloadFailed is
    raised here as it was there; past `seconds`, DownloadFailed(timeout_message, timeout)."""
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(function, args, write_fd, parent)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # the child did it first, or is gone already
        os.setpgid(pid, pid)
    deadline = time.monotonic() + seconds
    received = []
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            if not select.select([read_fd], [], [], remaining)[0]:
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            received.append(chunk)
        else:
            raise DownloadFailed(timeout_message, ErrorCode.TIMEOUT)
    finally:
        os.close(read_fd)
        processes.end_child(pid)
    if not received:
        message = "Internal error: the process ended without a result"
        raise DownloadFailed(message, ErrorCode.INTERNAL)
    kind, value = pickle.loads(b"".join(received))  # noqa: S301  (our own child's)
    if kind == "failed":
        message, code, detail, retry_after = value
        raise DownloadFailed(message, code, detail=detail, retry_after=retry_after)
    if kind == "raised":
        raise DownloadFailed(f"Internal error: {value}", ErrorCode.INTERNAL)
    return value
