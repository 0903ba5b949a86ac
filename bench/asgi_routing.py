"""What routing a request to a fast route costs: ytdlphost/fast_path.py's loop over
precompiled patterns against Starlette's Router (issue 21 asks whether a maintained
library should do the ASGI plumbing). Starlette is not a dependency of the service:

    .venv/bin/pip install --target /tmp/starlette starlette==1.10.0
    PYTHONPATH=/tmp/starlette .venv/bin/python bench/asgi_routing.py

Both dispatch the same four routes to an endpoint that does nothing, for the last route
(/healthz: every pattern is tried) and for the first (/status/<id>); per request, the
median of 5 runs of 20,000 calls on one event loop. The endpoint's own work, a fast
route's query and answer, is 0.3 to 1 ms (bench/README.md); the figures here are what
routing adds to it.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time

ROUTES = ("/status/{task_id}", "/files/{task_id}/{name}", "/tasks", "/healthz")
CALLS = 20_000


def scope_of(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path, "root_path": "",
            "query_string": b"", "headers": [(b"host", b"127.0.0.1")]}  # fmt: skip


class Nothing:
    """An ASGI endpoint (a callable object: Starlette wraps a plain function as a
    request-to-response endpoint) that answers nothing."""

    async def __call__(self, scope, receive, send):
        return None


nothing = Nothing()


def regex_loop():
    """fast_path.Application's routing: fullmatch of each route's pattern, in order."""
    patterns = [re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route)) for route in ROUTES]

    async def application(scope, receive, send):
        for pattern in patterns:
            match = pattern.fullmatch(scope["path"])
            if match:
                scope = {**scope, "path_params": match.groupdict()}
                return await nothing(scope, receive, send)
        return await nothing(scope, receive, send)

    return application


def starlette_router():
    from starlette.routing import Route, Router

    return Router([Route(route, nothing) for route in ROUTES], default=nothing)


def per_call_microseconds(application, path: str) -> float:
    async def run() -> float:
        scope = scope_of(path)
        started = time.perf_counter()
        for _ in range(CALLS):
            await application(dict(scope), None, None)
        return (time.perf_counter() - started) / CALLS * 1e6

    return statistics.median(asyncio.run(run()) for _ in range(5))


def main() -> None:
    applications = {"regex loop": regex_loop()}
    try:
        applications["starlette Router"] = starlette_router()
    except ImportError:
        print("starlette is not installed: see this file's docstring")
    for path in ("/status/abc", "/healthz"):
        for name, application in applications.items():
            print(f"{path:12} {name:17} {per_call_microseconds(application, path):6.2f} µs")


if __name__ == "__main__":
    main()
