"""Health check of a ytdlphost container: exit 0 when healthy, 1 otherwise.

    python docker/healthcheck.py [web|worker]

web: GET /healthz?skip=workers on 127.0.0.1:$PORT answers 200 (database, queue broker,
disk), asked for the first name of ALLOWED_HOSTS (the service checks every request's
Host). The worker clusters are left out: they have their own check, and a web container
that would be marked unhealthy (and taken out of a proxy's rotation) while the workers are
down would stop /status and /files too, which need no worker.
worker: the django-q2 cluster (`manage.py qcluster`) of this container runs, i.e. the
worker got past waiting for the migration and its cluster has not died.
Without an argument the role is found from the processes of the container. Only the
standard library: it runs every 30 s and must stay cheap.
"""

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def command_lines() -> list[list[str]]:
    lines = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        lines.append([part.decode(errors="replace") for part in raw.split(b"\0") if part])
    return lines


def is_cluster(argv: list[str]) -> bool:
    return "manage.py" in {Path(arg).name for arg in argv} and "qcluster" in argv


def is_gunicorn(argv: list[str]) -> bool:
    return any(Path(arg).name == "gunicorn" or arg.startswith("gunicorn:") for arg in argv[:3])


def host_header() -> str:
    """A Host the service answers to: the first entry of ALLOWED_HOSTS (comma-separated,
    as the settings read it; compose passes .env's lines to the container), as a name.
    Every other Host is refused on every route, and 127.0.0.1, where this connects, is
    rarely among them."""
    names = [name.strip() for name in os.environ.get("ALLOWED_HOSTS", "*").split(",")]
    first = next((name for name in names if name), "*")
    if first == "*":  # any name; localhost is also what an empty list allows under DEBUG
        return "localhost"
    return first.removeprefix(".")  # `.example.com` allows example.com and its subdomains


def web_healthy() -> bool:
    url = f"http://127.0.0.1:{os.environ.get('PORT') or '5000'}/healthz?skip=workers"
    request = urllib.request.Request(url, headers={"Host": host_header()})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310  (fixed URL)
            return response.status == 200
    except (urllib.error.URLError, OSError) as error:  # HTTPError (503) is a URLError
        print(f"{url}: {error}", file=sys.stderr)
        return False


def worker_healthy() -> bool:
    if any(is_cluster(argv) for argv in command_lines()):
        return True
    print("no `manage.py qcluster` process runs (yet)", file=sys.stderr)
    return False


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else None
    if role is None:
        running = command_lines()
        if any(is_gunicorn(line) for line in running):
            role = "web"
        elif any(is_cluster(line) for line in running):
            role = "worker"
        else:
            print("neither gunicorn nor qcluster runs (yet)", file=sys.stderr)
            return 1
    if role == "web":
        return 0 if web_healthy() else 1
    if role == "worker":
        return 0 if worker_healthy() else 1
    print(f"unknown role {role!r}: use web or worker", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
