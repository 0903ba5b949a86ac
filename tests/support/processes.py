"""What the real-stack tests look for in the process table, and how they wait for it."""

import contextlib
import time
from pathlib import Path

from downloads_app.processes import TASK_MARKER


def wait_until(condition, timeout: float, what: str):
    """The first truthy value of `condition()`, polled every 0.1 s; fails the test, saying
    `what` did not happen, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return result


def process_stats():
    """(pid, fields) of every living process, `fields` being those of /proc/<pid>/stat
    after the command name (in parentheses, it may hold spaces): fields[0] is the state,
    [1] the parent's pid, [3] the session, [11] and [12] utime and stime in clock ticks."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # the process ended meanwhile
                yield int(entry.name), (entry / "stat").read_text().rsplit(")", 1)[1].split()


def task_processes(task_id: str) -> dict[int, str]:
    """{pid: command name} of the living processes carrying the task's marker in their
    environment: its work's child and every ffmpeg that child started."""
    marker = f"{TASK_MARKER}={task_id}".encode()
    found = {}
    for pid, fields in process_stats():
        if fields[0] != "Z":
            with contextlib.suppress(OSError):
                if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    found[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
    return found


def descendants(pid: int) -> set[int]:
    """The living processes started by `pid`, their children, and so on: whichever process
    group or session they moved to (a task's child has a group of its own)."""
    children: dict[int, list[int]] = {}
    for child, fields in process_stats():
        children.setdefault(int(fields[1]), []).append(child)
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def parent(pid: int) -> int:
    """The parent's pid of a process (0 when it is gone)."""
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def listening_ports(pid: int) -> set[int]:
    """The TCP ports (IPv4) a process listens on: its sockets matched with /proc/net/tcp."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = fd.readlink().name
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    ports = set()
    if not inodes:
        return ports
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and inode in inodes:  # 0A: LISTEN
            ports.add(int(local.rpartition(":")[2], 16))
    return ports
