"""The ASGI application gunicorn runs (ytdlphost/asgi.py): Django, plus two things Django's
request cycle does badly on two cores.

1. Hot GETs. `GET /status/<id>` is most of the traffic (clients poll it). Through Django
   and DRF one costs about 1 ms of CPU before any query (eleven middlewares, DRF's request,
   content negotiation and a serializer whose fields are deep-copied per request:
   bench/profile_status.py), and under ASGI every sync view of a process runs on one
   thread. An app registers a *fast route* instead: a plain function, run on a small
   thread pool, that answers from the same functions the view uses (the key lookup, the
   visibility rule, the status body) or returns None, and then Django answers. Every
   unusual case (no key, a wrong key, another key's task, an expired task) takes Django's
   path, so its answer is the view's by construction. The headers every answer of the
   view carries (the middleware's, DRF's) are added here, derived from the code that adds
   them for the view (ytdlphost/view_headers.py); tests/ytdlphost/
   test_fast_path_equivalence.py compares both paths through this application.

   Routing is a loop over precompiled patterns rather than Starlette's Router: it would
   replace about 20 lines (the patterns, lifespan) but not the fall-through to Django or
   the `?wait` dispatch, add two dependencies, and cost 2-7 µs a request more
   (bench/asgi_routing.py).

2. Long polls (`?wait=S`). A waiting request holds no thread: it is a coroutine parked on a
   future. One poller per process and per kind (a task finished, the task list changed)
   checks everything waited on in one query every POLL_INTERVAL, and wakes the futures.
   The answer itself is the plain request evaluated again (fast route or Django), so a
   waiter whose key is deleted meanwhile hears 401 like anyone else. A route may cap its
   waiters per key and per caller (LongPollRoute.max_waiters): each wake costs every
   waiter of the key an evaluation.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger("ytdlphost.fast_path")

# How often a poller checks what its waiters wait for: a finished task is answered within
# this, at one query per interval per process whatever the number of waiters.
POLL_INTERVAL = 0.15
MAX_WAIT_SECONDS = 60.0
WAIT_ERROR = f"wait must be a number of seconds, more than 0 and at most {MAX_WAIT_SECONDS:g}"


@dataclass
class Answer:
    """A fast route's answer: its own headers (a Content-Type, an ETag); those every
    answer of its view carries (the middleware's, DRF's Allow) are added when it is sent
    (ytdlphost/view_headers.py)."""

    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    # The key a fast route answered (never sent): a long poll of the request waits on
    # that key's changes and counts against its cap.
    api_key_id: int | None = None

    def json_body(self):
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None


def accepts_json(request: FastRequest) -> bool:
    """Whether an API view (whose only renderer is REST_FRAMEWORK's JSON renderer) would
    answer this request in plain JSON: DRF's content negotiation, run on the request's
    Accept and `?format=`, picks that renderer with its own media type (not one with
    parameters such as `indent=4`, which change the body). Else the view answers (its
    406, its 404 of an unknown format, its indented JSON)."""
    from ytdlphost import view_headers  # imports DRF, which needs the settings

    return view_headers.negotiates_plain_json(request.headers.get("accept"), request.query)


def json_answer(status: int, data) -> Answer:
    """An API answer, rendered and typed as DRF renders and types it."""
    from ytdlphost import view_headers  # imports DRF, which needs the settings

    return Answer(status, view_headers.render_json(data), json_headers())


def json_headers() -> list[tuple[bytes, bytes]]:
    """An API answer's own header: its Content-Type, as DRF names it."""
    from ytdlphost import view_headers

    return [(b"content-type", view_headers.json_content_type())]


@dataclass(frozen=True)
class FastRequest:
    """What a fast route sees of a request: the path's parameters, the query (the last
    value of each name) and the headers (names in lower case); `query_string` as sent,
    for a route that reads a name given more than once."""

    path_params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    query_string: str = ""


@dataclass(frozen=True)
class FastRoute:
    pattern: re.Pattern
    answer: Callable[[FastRequest], Answer | None]
    # As registered (`status/<segment:task_id>`): the route label Django's metrics
    # middleware would give, and where the view answering it is found.
    route: str


@dataclass(frozen=True)
class LongPollRoute:
    """`GET <pattern>?wait=S`: answered when `settled(request, answer)` or after S
    seconds, waking on `watch(request, answer)` (a future of the kind's poller, for what
    that answer showed): the poller's check is the whole truth, so there is no periodic
    re-evaluation without a wake.

    `max_waiters`, when set, returns how many requests of one key, and of one `caller`
    (the credential a request came with, read from its headers alone: a session, an
    X-API-Key), may wait on the route at once in this process. The next is refused (429,
    Retry-After): a caller already at the cap before its request is evaluated, so that
    refusing it costs no query. A request whose key no fast route named (Django answered
    it) gets its answer at once rather than waiting uncounted."""

    pattern: re.Pattern
    settled: Callable[[FastRequest, Answer], bool]
    watch: Callable[[FastRequest, Answer], asyncio.Future]
    max_waiters: Callable[[], int] | None = None
    caller: Callable[[FastRequest], str | None] | None = None
    route: str = ""  # as registered: whose view's headers its own refusals carry


_fast_routes: list[FastRoute] = []
_long_poll_routes: list[LongPollRoute] = []


def route_pattern(route: str) -> re.Pattern:
    """A Django-style route (`status/<segment:task_id>`) as a regular expression of the
    ASGI path; only the `segment` converter is needed."""
    from ytdlphost.converters import SegmentConverter

    parts = re.split(r"<segment:(\w+)>", route)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>{SegmentConverter.regex})"
        for index, part in enumerate(parts)
    )
    return re.compile(f"/{regex}")


def register_fast_get(route: str, answer: Callable[[FastRequest], Answer | None]) -> None:
    """Answer `GET /<route>` with `answer` (run on the thread pool) when it returns an
    Answer; Django answers when it returns None (and always, for a route of
    FAST_ROUTES_DISABLED)."""
    if route.split("/")[0] in settings.FAST_ROUTES_DISABLED:
        return
    _fast_routes.append(FastRoute(route_pattern(route), answer, route))


def register_long_poll(route: str, settled, watch, max_waiters=None, caller=None) -> None:
    _long_poll_routes.append(
        LongPollRoute(route_pattern(route), settled, watch, max_waiters, caller, route)
    )


def parse_wait(value: str) -> float | None:
    """The seconds of `wait=S`, or None when S is not a number in (0, MAX_WAIT_SECONDS]."""
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not 0 < seconds <= MAX_WAIT_SECONDS:  # also refuses nan and inf
        return None
    return seconds


class Poller:
    """Checks every key waited on in one call of `check` (run on the thread pool) per
    POLL_INTERVAL, while anything is waited on, and wakes the futures of the keys it
    returns. One per kind and process."""

    def __init__(self, check: Callable[[set], set], interval: float = POLL_INTERVAL):
        self.check = check
        self.interval = interval
        self.waiters: dict[object, set[asyncio.Future]] = {}
        self.task: asyncio.Task | None = None

    def watch(self, key) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(key, set()).add(future)
        future.add_done_callback(lambda done: self._forget(key, done))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return future

    def _forget(self, key, future) -> None:
        futures = self.waiters.get(key)
        if futures is not None:
            futures.discard(future)
            if not futures:
                del self.waiters[key]

    async def _run(self) -> None:
        while self.waiters:
            await asyncio.sleep(self.interval)
            keys = set(self.waiters)
            if not keys:
                break
            try:
                woken = await run_in_pool(self.check, keys)
            except Exception:  # a failed check (the database away) is retried next time
                logger.warning("long-poll check failed", exc_info=True)
                continue
            for key in woken:
                for future in list(self.waiters.get(key, ())):
                    if not future.done():
                        future.set_result(True)


_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The threads that run fast routes and pollers' checks (WEB_THREADS): each keeps its
    own database connection, as a gthread worker's threads did."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(settings.WEB_THREADS, thread_name_prefix="fast-path")
    return _pool


def with_connections(function, *args):
    # What Django does around every request (request_started/request_finished): drop a
    # connection that is broken or past CONN_MAX_AGE, so a restarted database costs a
    # reconnect, not an error.
    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()


async def run_in_pool(function, *args):
    return await asyncio.get_running_loop().run_in_executor(
        pool(), with_connections, function, *args
    )


_shutting_down: asyncio.Event | None = None


def shutting_down() -> asyncio.Event:
    """Set when the worker stops (ytdlphost/workers.py): waiters answer at once."""
    global _shutting_down
    if _shutting_down is None:
        _shutting_down = asyncio.Event()
    return _shutting_down


class Application:
    """Django's WSGI application, on the thread pool (where no client can hold a thread:
    ytdlphost/slow_clients.py), behind the fast routes and long polls."""

    def __init__(self, wsgi_application):
        from ytdlphost.slow_clients import DjangoOnThreads

        global _pool
        self.django = DjangoOnThreads(wsgi_application, workers=settings.WEB_THREADS)
        _pool = self.django.executor  # one pool of threads, and of database connections

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.lifespan(receive, send)
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.django(scope, receive, send)
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        if "wait" in query:
            for route in _long_poll_routes:
                match = route.pattern.fullmatch(scope["path"])
                if match:
                    request = fast_request(scope, match, query)
                    return await self.long_poll(route, request, scope, receive, send)
        answer = await self.routed_answer(scope, query)
        if answer is not None:
            return await send_answer(send, answer)
        return await self.django(scope, receive, send)

    async def lifespan(self, receive, send):
        # Django has no lifespan; answering it keeps uvicorn from logging that.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def fast_answer(self, route: FastRoute, request: FastRequest, scope) -> Answer | None:
        started = time.perf_counter()
        answer = await run_in_pool(route.answer, request)
        if answer is None:
            return None
        with_view_headers(answer, route.route, scope)
        if settings.METRICS_ENABLED:
            from ytdlphost.metrics import metrics

            found = metrics()
            found["requests"].labels("GET", route.route, answer.status).inc()
            found["latency"].labels("GET", route.route).observe(time.perf_counter() - started)
        return answer

    async def routed_answer(self, scope, query: dict) -> Answer | None:
        """The answer of the path's fast route; None when it has none, or when its route
        leaves the request to Django."""
        for route in _fast_routes:
            match = route.pattern.fullmatch(scope["path"])
            if match:
                return await self.fast_answer(route, fast_request(scope, match, query), scope)
        return None

    async def evaluate(self, scope, request: FastRequest) -> Answer:
        """The plain request's answer, as its own request would get it."""
        answer = await self.routed_answer(scope, request.query)
        if answer is not None:
            return answer
        return await captured_answer(self.django, scope)

    async def long_poll(self, route: LongPollRoute, request, scope, receive, send):
        loop = asyncio.get_running_loop()
        limit = route.max_waiters() if route.max_waiters else None
        credential = route.caller(request) if limit and route.caller else None
        caller = (route.pattern, "caller", credential)
        if credential is not None and _waiters[caller] >= limit:
            refusal = with_view_headers(too_many_waiters(limit), route.route, scope)
            return await send_answer(send, refusal)
        answer = await self.evaluate(scope, request)
        if answer.status >= 400:  # a missing or wrong key, an unknown task: at once
            return await send_answer(send, answer)
        seconds = parse_wait(request.query["wait"])
        if seconds is None:
            refusal = json_answer(400, {"error": WAIT_ERROR})
            return await send_answer(send, with_view_headers(refusal, route.route, scope))
        if route.settled(request, answer):
            return await send_answer(send, answer)
        slots = []
        if limit:
            if answer.api_key_id is None:  # nobody to count it against: no waiting
                return await send_answer(send, answer)
            slots = [(route.pattern, "key", answer.api_key_id)]
            slots += [caller] if credential is not None else []
            if any(_waiters[slot] >= limit for slot in slots):
                refusal = with_view_headers(too_many_waiters(limit), route.route, scope)
                return await send_answer(send, refusal)
            _waiters.update(slots)
        deadline = loop.time() + seconds
        disconnected = loop.create_task(wait_for_disconnect(receive))
        stopping = loop.create_task(shutting_down().wait())
        woken = None
        try:
            while not route.settled(request, answer):
                remaining = deadline - loop.time()
                if remaining <= 0 or disconnected.done() or stopping.done():
                    break
                woken = route.watch(request, answer)
                await asyncio.wait({woken, disconnected, stopping}, timeout=remaining,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                woken.cancel()
                if disconnected.done():
                    return  # nobody to answer
                answer = await self.evaluate(scope, request)
        finally:
            if woken is not None:
                woken.cancel()  # also when cancelled mid-wait: the poller forgets it
            disconnected.cancel()
            stopping.cancel()
            for slot in slots:
                _waiters[slot] -= 1
                if not _waiters[slot]:
                    del _waiters[slot]
        await send_answer(send, answer)


# Requests waiting on a capped long-poll route, by (route, "key", id) and (route,
# "caller", credential): this process's event loop alone changes it.
_waiters: Counter = Counter()
# When a refused waiter may try again: the others of its key are answered within the
# wait they asked for (the web page asks for 25 s), often sooner.
WAITERS_RETRY_AFTER_SECONDS = 5


def too_many_waiters(limit: int) -> Answer:
    answer = json_answer(
        429,
        {
            "error": "Too many waiting requests of this key or session: "
            f"at most {limit} at once; try again in {WAITERS_RETRY_AFTER_SECONDS} seconds"
        },
    )
    answer.headers.append((b"retry-after", str(WAITERS_RETRY_AFTER_SECONDS).encode()))
    return answer


def with_view_headers(answer: Answer, route: str, scope) -> Answer:
    """The answer, with the headers its view's every answer carries added."""
    from ytdlphost import view_headers  # imports DRF, which needs the settings

    answer.headers += view_headers.route_headers_of(route, scope)
    return answer


def fast_request(scope, match: re.Match, query: dict) -> FastRequest:
    from ytdlphost.request_guard import folded

    # A header sent more than once is read as the WSGI environ Django reads it has it
    # (a2wsgi's build_environ, slow_clients.py): the values joined with commas, under
    # names folded alike. Both paths then see one If-None-Match, one Cookie.
    headers = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = folded(raw_name).decode("latin-1"), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    query_string = scope["query_string"].decode("latin-1")
    return FastRequest(match.groupdict(), query, headers, query_string)


async def wait_for_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def captured_answer(application, scope) -> Answer:
    """Run `application` on a bodiless GET and keep its answer instead of sending it
    (send_answer gives it its Content-Length)."""
    answer = await whole_answer(application, scope)
    answer.headers = [(name, value) for name, value in answer.headers
                      if name.lower() != b"content-length"]  # fmt: skip
    return answer


async def whole_answer(application, scope) -> Answer:
    """`application`'s answer, every header as sent, to a bodiless GET from a client that
    stays connected until answered."""
    answer = Answer(500)
    body = []
    request_sent = False

    async def receive():
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the real client is watched by long_poll

    async def send(message):
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await application(dict(scope), receive, send)
    answer.body = b"".join(body)
    return answer


async def send_answer(send, answer: Answer) -> None:
    headers = [*answer.headers, (b"content-length", str(len(answer.body)).encode())]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
