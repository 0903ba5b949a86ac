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


def task_processes(task_id: str) -> dict[int, str]:
    """{pid: command name} of the living processes carrying the task's marker in their
    environment: its work's child and every ffmpeg that child started."""
    marker = f"{TASK_MARKER}={task_id}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z" and marker in (entry / "environ").read_bytes().split(b"\0"):
                    found[int(entry.name)] = (entry / "comm").read_text().strip()
    return found


def descendants(pid: int) -> set[int]:
    """The living processes started by `pid`, their children, and so on: whichever process
    group or session they moved to (a task's child has a group of its own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found
