"""The operating-system processes of a task: marking them, telling whether a worker still
lives, and ending what a dead worker left behind.

A worker is named `<host>:<pid>` (worker_name). Its host says which processes can be
looked up by pid from here: the hostname (for people), the kernel's boot id and the pid
namespace. Two processes with the same host see the same process table, so one can tell
for sure whether the other's worker is still alive, and recover its task at once when it
is not. The hostname alone would not do: containers started with one `hostname:` (or
with the host's network) share it across separate process tables, where a pid looked up
here says nothing about a worker there; so would a restarted container, whose process
table is new. A task of another host is recovered by its heartbeat alone.

A task's work runs in a child of its worker (supervisor.py), and that child starts ffmpeg.
When the worker is killed outright, the child dies with it (a parent-death signal), but
ffmpeg does not: it is found by TASK_MARKER, an environment variable that every program
the child starts inherits, and killed before the task runs again. Linux only (/proc);
elsewhere nothing is found and nothing is killed.

The child keeps only CHILD_ENVIRONMENT of its environment, and so does every program it
starts (ffmpeg, ffprobe, deno): no secret of the service (SECRET_KEY, DATABASE_URL,
REDIS_URL, ADMIN_*, ...) is there to leak to them. The child itself needs none of it: it
is a fork of a worker whose Django settings were read before, and it never opens the
database.
"""

import contextlib
import ctypes
import os
import signal
import socket
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path

PROC = Path("/proc")
# Set in a task's child process to the task id; ffmpeg and ffprobe inherit it.
TASK_MARKER = "YTDLPHOST_TASK"

# What a task's child and its programs may read from the environment: where programs and
# the home directory are, language and time zone (LC_* too), temporary files, the proxies
# yt-dlp honours when YTDLP_PROXY is not set, and the operator's certificate authorities.
CHILD_ENVIRONMENT = frozenset(
    {
        "PATH", "HOME", "USER", "LANG", "LANGUAGE", "TZ", "TMPDIR", "XDG_CACHE_HOME", "DENO_DIR",
        "SSL_CERT_FILE", "SSL_CERT_DIR",
        *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
        *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
    }
)  # fmt: skip

# The host part of a worker's name where processes cannot be looked up (not Linux): its
# tasks are recovered by their heartbeat only, as another host's.
UNKNOWN_HOST = "unknown"

# prctl(2) option: the signal a process gets when the thread that forked it ends.
PR_SET_PDEATHSIG = 1
try:
    # Loaded now, in the worker, so a freshly forked child does not have to dlopen.
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def child_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """What of `environment` a task's child keeps (CHILD_ENVIRONMENT)."""
    return {
        name: value
        for name, value in environment.items()
        if name in CHILD_ENVIRONMENT or name.startswith("LC_")
    }


def keep_child_environment() -> None:
    """Leave this process only CHILD_ENVIRONMENT of its environment: no secret of the
    service for yt-dlp or the programs it starts."""
    kept = child_environment(os.environ)
    os.environ.clear()
    os.environ.update(kept)


def _refuse_database(execute, sql, params, many, context):
    raise RuntimeError("a forked child process must not use the database")


def become_child(parent_pid: int) -> None:
    """In a child just forked from `parent_pid` to run yt-dlp (a task's, supervisor.py;
    a call under a deadline, deadline.py): lead a process group of its own, which the
    programs it starts inherit, so that the parent can end them all; die with the parent;
    keep no secret in its environment; never use the database (a connection must not be
    shared across a fork, and the parent's transaction is not its own)."""
    from django.db import connections

    os.setpgid(0, 0)
    die_with_parent(parent_pid)
    keep_child_environment()
    for connection in connections.all():
        connection.execute_wrappers.append(_refuse_database)


def end_child(pid: int) -> int:
    """Kill what is left of the process group that child `pid` leads, reap the child and
    return its wait status."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies. The parent may have
    died already, before the request was made: then die now."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


@cache
def this_host() -> str:
    """`hostname/boot.pidns`: equal for two processes exactly when they share a process
    table (module docstring). The hostname is cut short so that a worker's name fits its
    column (100 characters); the boot id and the namespace tell hosts apart."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
        # "pid:[4026531836]"; a namespace's number is reused only once it is gone.
        namespace = os.readlink(PROC / "self/ns/pid").partition("[")[2].rstrip("]")
    except OSError:  # not Linux: no process table to look in
        return f"{socket.gethostname()[:60]}/{UNKNOWN_HOST}"
    return f"{socket.gethostname()[:60]}/{boot}.{namespace}"


def worker_name() -> str:
    """The name of this process as a task's worker: `<host>:<pid>`."""
    return f"{this_host()}:{os.getpid()}"


def is_of_this_host(worker: str) -> bool:
    """Whether this process can tell by pid if `worker` still lives."""
    host = worker.rpartition(":")[0]
    return host == this_host() and not host.endswith(UNKNOWN_HOST)


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
    """Whether `worker` (as recorded when a task was claimed at `since`) is a process alive
    on this host. False for a worker of another host: this one cannot tell.

    A pid is reused once its process is gone, so a process that started after the claim
    is someone else. /proc's boot time has whole seconds: one second of slack.
    """
    pid = worker.rpartition(":")[2]
    if not is_of_this_host(worker) or not pid.isdigit() or since is None:
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
