"""The operating-system processes of a task: marking them, telling whether a worker still
lives, and ending what a dead worker left behind.

A task's work runs in a child of its worker (supervisor.py), and that child starts ffmpeg.
When the worker is killed outright, the child dies with it (a parent-death signal), but
ffmpeg does not: it is found by TASK_MARKER, an environment variable that every program
the child starts inherits, and killed before the task runs again. Linux only (/proc);
elsewhere nothing is found and nothing is killed.
"""

import contextlib
import ctypes
import os
import signal
import socket
from datetime import datetime
from pathlib import Path

PROC = Path("/proc")
# Set in a task's child process to the task id; ffmpeg and ffprobe inherit it.
TASK_MARKER = "YTDLPHOST_TASK"

# prctl(2) option: the signal a process gets when the thread that forked it ends.
PR_SET_PDEATHSIG = 1
try:
    # Loaded now, in the worker, so a freshly forked child does not have to dlopen.
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies. The parent may have
    died already, before the request was made: then die now."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def _start_time(pid: int) -> float | None:
    """When a process started (seconds since the epoch); None when it does not exist or
    is a zombie."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        boot = next(
            line for line in (PROC / "stat").read_text().splitlines() if line.startswith("btime")
        )
    except (OSError, StopIteration):
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ")".
    fields = stat.rsplit(")", 1)[1].split()
    state, start_ticks = fields[0], int(fields[19])
    if state in ("Z", "X"):
        return None
    return int(boot.split()[1]) + start_ticks / os.sysconf("SC_CLK_TCK")


def worker_alive_here(worker: str, since: datetime | None) -> bool:
    """Whether `worker` (host:pid, as recorded when a task was claimed at `since`) is a
    process alive on this host.

    A pid is reused once its process is gone, so a process that started after the claim
    is someone else. /proc's boot time has whole seconds: one second of slack.
    """
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or since is None:
        return False
    started = _start_time(int(pid))
    return started is not None and started <= since.timestamp() + 1.0


def kill_task_processes(task_id: str) -> int:
    """SIGKILL every process on this host that carries the task's marker; how many."""
    if not PROC.is_dir():
        return 0
    marker = f"{TASK_MARKER}={task_id}".encode()
    killed = 0
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or another user's
            continue
        if marker in environment:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed
