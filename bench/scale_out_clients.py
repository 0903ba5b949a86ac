"""bench/scale_out.py's clients, in several processes (one Python process's GIL would make
300 client threads measure themselves): each process serves a share of the keys with
their submitters, `/status` pollers and `/tasks?wait=` long-pollers, counts every answer
by route and status, times every `/status`, and writes what it saw as JSON when told to
stop.

- A submitter (one per key) POSTs its key's jobs one after another, as fast as they are
  answered; a job that is not accepted is counted, not retried (the accounting expects
  exactly the tasks the clients were answered for).
- A poller GETs `/status/<id>` of one of its key's unfinished tasks (at random), every
  `poll_interval` seconds, until it sees it end, then takes another.
- A long-poller holds `GET /tasks?wait=25` of its key, sending the last ETag back, as the
  web page does: a 304 after 25 s of no change, a 200 at once on a change.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

LONG_POLL_WAIT = 25  # seconds, as the web page's long poll
TIMEOUT = 120  # a client's patience per request; a timeout is counted as an error


@dataclass
class Client:
    """One key: its secret, its jobs ((endpoint, body) each) and how many pollers and
    long-pollers watch it."""

    key: str
    jobs: list[tuple[str, dict]]
    pollers: int
    long_pollers: int


@dataclass
class Seen:
    """What one client process saw; merged by `merge`."""

    answers: collections.Counter = field(default_factory=collections.Counter)  # "route status"
    errors: collections.Counter = field(default_factory=collections.Counter)  # exceptions
    status_seconds: list[float] = field(default_factory=list)
    submit_seconds: list[float] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)  # accepted task ids
    last_submission: float = 0.0  # time.time() of the last answer to a submission
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, route: str, status: int) -> None:
        with self.lock:
            self.answers[f"{route} {status}"] += 1

    def as_dict(self) -> dict:
        return {
            "answers": dict(self.answers),
            "errors": dict(self.errors),
            "status_seconds": self.status_seconds,
            "submit_seconds": self.submit_seconds,
            "submitted": self.submitted,
            "last_submission": self.last_submission,
        }


def merge(parts: list[dict]) -> dict:
    merged = {
        "answers": collections.Counter(),
        "errors": collections.Counter(),
        "status_seconds": [],
        "submit_seconds": [],
        "submitted": [],
        "last_submission": 0.0,
    }
    for part in parts:
        merged["answers"].update(part["answers"])
        merged["errors"].update(part["errors"])
        for name in ("status_seconds", "submit_seconds", "submitted"):
            merged[name] += part[name]
        merged["last_submission"] = max(merged["last_submission"], part["last_submission"])
    return merged


class ClientProcess:
    """The clients of some keys, in a process of their own. `accepted` (a shared counter)
    counts accepted submissions across processes; `stop` ends the pollers."""

    def __init__(self, base_url: str, clients: list[Client], poll_interval: float, out: Path):
        self.base_url, self.clients = base_url, clients
        self.poll_interval, self.out = poll_interval, out
        context = multiprocessing.get_context("fork")
        self.accepted = context.Value("i", 0)
        self.submitters_done = context.Value("i", 0)
        self.stop = context.Event()
        self.process = context.Process(target=self._run, name="bench-clients", daemon=True)

    def start(self) -> ClientProcess:
        self.process.start()
        return self

    def result(self) -> dict:
        self.process.join()
        return json.loads(self.out.read_text())

    # -- in the child

    def _run(self) -> None:
        seen = Seen()
        unfinished: dict[str, set[str]] = {client.key: set() for client in self.clients}
        threads = []
        for client in self.clients:
            threads.append(threading.Thread(target=self._submit, args=(client, seen, unfinished)))
            for _ in range(client.pollers):
                threads.append(threading.Thread(target=self._poll, args=(client, seen, unfinished)))
            for _ in range(client.long_pollers):
                threads.append(threading.Thread(target=self._long_poll, args=(client, seen)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.out.write_text(json.dumps(seen.as_dict()))

    def _submit(self, client: Client, seen: Seen, unfinished: dict[str, set[str]]) -> None:
        session = requests.Session()
        headers = {"X-API-Key": client.key}
        for endpoint, body in client.jobs:
            began = time.perf_counter()
            try:
                response = session.post(
                    f"{self.base_url}{endpoint}", json=body, headers=headers, timeout=TIMEOUT
                )
            except requests.RequestException as exc:
                with seen.lock:
                    seen.errors[f"POST {type(exc).__name__}"] += 1
                continue
            took = time.perf_counter() - began
            seen.answer("POST", response.status_code)
            with seen.lock:
                seen.submit_seconds.append(took)
                seen.last_submission = time.time()
                if response.status_code == 200:
                    task_id = response.json()["task_id"]
                    seen.submitted.append(task_id)
                    unfinished[client.key].add(task_id)
            if response.status_code == 200:
                with self.accepted.get_lock():
                    self.accepted.value += 1
        with self.submitters_done.get_lock():
            self.submitters_done.value += 1

    def _poll(self, client: Client, seen: Seen, unfinished: dict[str, set[str]]) -> None:
        session = requests.Session()
        headers = {"X-API-Key": client.key}
        # Pollers of one key start spread over an interval, not all at once.
        self.stop.wait(random.uniform(0, self.poll_interval))
        while not self.stop.is_set():
            with seen.lock:
                candidates = list(unfinished[client.key])
            if candidates:
                task_id = random.choice(candidates)
                began = time.perf_counter()
                try:
                    response = session.get(
                        f"{self.base_url}/status/{task_id}", headers=headers, timeout=TIMEOUT
                    )
                except requests.RequestException as exc:
                    with seen.lock:
                        seen.errors[f"GET /status {type(exc).__name__}"] += 1
                    continue
                took = time.perf_counter() - began
                seen.answer("GET /status", response.status_code)
                with seen.lock:
                    seen.status_seconds.append(took)
                    if response.status_code == 200 and response.json()["status"] in (
                        "completed",
                        "error",
                    ):
                        unfinished[client.key].discard(task_id)
            self.stop.wait(self.poll_interval)

    def _long_poll(self, client: Client, seen: Seen) -> None:
        session = requests.Session()
        headers = {"X-API-Key": client.key}
        url = f"{self.base_url}/tasks?wait={LONG_POLL_WAIT}"
        while not self.stop.is_set():
            try:
                response = session.get(url, headers=headers, timeout=LONG_POLL_WAIT + TIMEOUT)
            except requests.RequestException as exc:
                with seen.lock:
                    seen.errors[f"GET /tasks?wait {type(exc).__name__}"] += 1
                self.stop.wait(1)
                continue
            seen.answer("GET /tasks?wait", response.status_code)
            if response.status_code == 200:
                headers["If-None-Match"] = response.headers["ETag"]
            elif response.status_code != 304:
                self.stop.wait(1)  # a 429 (too many waiters) or worse: not a busy loop
