"""The image's ingredients and its entrypoint, checked on this host.

- requirements.txt (what the image installs) provides every module the service imports,
  holds no test tool, and pins a Deno that the pinned yt-dlp accepts.
- docker/entrypoint.sh run on this host as the image runs it: `worker` waits for the
  migration, `web` migrates and serves, the worker then runs the cluster, SIGTERM stops
  both. On SQLite, and on PostgreSQL + Redis like the compose file when
  scripts/test-services.sh runs.

Building and running the image itself is a separate step (a later issue: Podman in CI).
"""

import contextlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.backends import fresh_postgres_and_redis
from tests.support.stack import free_port

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
HEALTHCHECK = REPO / "docker" / "healthcheck.py"
FIRST_PARTY = {"ytdlphost", "keys_app", "downloads_app", "legacy_import"}
TEST_TOOLS = {"pytest", "pytest-django", "pytest-xdist", "ruff", "schemathesis", "yt-dlp-host-api"}


# --- requirements.txt ------------------------------------------------------------------


def runtime_requirements() -> list[Requirement]:
    """The requirements the image installs: requirements.txt, as pip reads it."""
    lines = (REPO / "requirements.txt").read_text().splitlines()
    return [
        Requirement(line.split("#")[0].strip())
        for line in lines
        if line.strip() and not line.startswith(("#", "-"))
    ]


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """Canonical names of the requirements and, through the installed metadata, of
    everything they depend on (with their extras)."""
    seen: set[str] = set()
    pending = [(canonicalize_name(r.name), set(r.extras)) for r in requirements]
    visited: set[tuple[str, frozenset]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, frozenset(extras)) in visited:
            continue
        visited.add((name, frozenset(extras)))
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras or {""}):
                pending.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return seen


def test_deno_version_satisfies_the_pinned_yt_dlp():
    pin = next(r for r in runtime_requirements() if canonicalize_name(r.name) == "yt-dlp")
    installed = importlib.metadata.version("yt-dlp")
    if not pin.specifier.contains(installed):
        pytest.skip(f"installed yt-dlp {installed} is not the pinned {pin.specifier}")
    deno = next(r for r in runtime_requirements() if canonicalize_name(r.name) == "deno")
    deno_version = str(deno.specifier).removeprefix("==")
    wanted = [
        requirement
        for requirement in map(Requirement, importlib.metadata.requires("yt-dlp"))
        if canonicalize_name(requirement.name) == "deno"
        and requirement.marker is not None
        and requirement.marker.evaluate({"extra": "deno"})
    ]
    assert wanted, "yt-dlp no longer has a `deno` extra"
    assert all(r.specifier.contains(deno_version) for r in wanted), (deno_version, wanted)
    # The challenge-solver scripts come with the runtime requirements.
    assert "default" in pin.extras
    assert "yt-dlp-ejs" in installed_closure([pin])


def test_runtime_requirements_hold_no_test_tools():
    names = {canonicalize_name(r.name) for r in runtime_requirements()}
    assert not names & TEST_TOOLS, f"test tools in requirements.txt: {names & TEST_TOOLS}"
    assert {"gunicorn", "django-q2", "django", "yt-dlp", "psycopg", "redis"} <= names
    dev = (REPO / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev
    dev_names = {
        canonicalize_name(Requirement(line.split("#")[0].strip()).name)
        for line in dev
        if line.strip() and not line.startswith(("#", "-"))
    }
    assert dev_names >= TEST_TOOLS


def app_modules() -> set[str]:
    """Top-level modules the service imports: in its code, and named in settings."""
    import ast

    modules = set()
    files = [REPO / "manage.py"]
    for package in FIRST_PARTY:
        files += (REPO / package).rglob("*.py")
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
            elif (
                path.name == "settings.py"
                and isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"[a-z_]+(\.\w+)+", node.value)
                and importlib.util.find_spec(node.value.split(".")[0])  # not "db.sqlite3"
            ):
                modules.add(node.value.split(".")[0])
    return modules - FIRST_PARTY - set(sys.stdlib_module_names)


def test_runtime_requirements_provide_everything_the_service_imports():
    closure = installed_closure(runtime_requirements())
    providers = importlib.metadata.packages_distributions()
    for module in sorted(app_modules()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists, f"{module} is imported but not installed: run scripts/setup.sh"
        assert dists & closure, f"{module} ({dists}) is not a runtime requirement"
    # The two commands of the image.
    assert {"gunicorn", "django-q2"} <= closure
    help_text = subprocess.run(
        [sys.executable, "manage.py", "help", "qcluster"], cwd=REPO, capture_output=True,
        text=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )  # fmt: skip
    assert help_text.returncode == 0, help_text.stderr
    assert shutil.which("gunicorn", path=str(Path(sys.executable).parent))


def test_entrypoint_script_is_executable_bash():
    assert ENTRYPOINT.is_file() and os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(ENTRYPOINT)], check=True)


def test_entrypoint_passes_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    checked = subprocess.run(["shellcheck", str(ENTRYPOINT)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


# --- docker/entrypoint.sh on this host ------------------------------------------------

ADMIN_KEY = "docker-entrypoint-admin-secret-0123"
VENV = REPO / ".venv"


def entrypoint_env(data_dir: Path, port: int, backends: dict[str, str]) -> dict[str, str]:
    """The host's environment, minus what would change the service (the test suite's
    settings module, a database of another test), as the image would run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")
        and key not in ("DOWNLOAD_DIR", "PYTHONPATH")
    }
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        DATA_DIR=str(data_dir),
        PORT=str(port),
        BIND="127.0.0.1",
        ALLOW_PRIVATE_URLS="true",
        ADMIN_API_KEY=ADMIN_KEY,
        LOG_LEVEL="INFO",
        MIN_FREE_DISK="0",
        WEB_WORKERS="1",
        WEB_THREADS="4",
        MIGRATION_WAIT_TIMEOUT="120",
        **backends,
    )
    return env


def needs_venv():
    if not (VENV / "bin" / "python").exists():
        pytest.skip(f"no virtualenv in {VENV} (scripts/setup.sh makes it)")


def start(role: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(ENTRYPOINT), role], cwd=REPO, env=env, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


@contextlib.contextmanager
def running():
    """Kill whatever the test left running, whatever happened."""
    processes: list[subprocess.Popen] = []
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(condition, timeout: float, what: str, *alive: subprocess.Popen, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process in alive:
            if process.poll() is not None:
                output = "\n".join(log.read_text(errors="replace")[-4000:] for log in logs)
                pytest.fail(f"exited ({process.returncode}) before {what}:\n{output}")
        time.sleep(0.25)
    output = "\n".join(log.read_text(errors="replace")[-4000:] for log in logs)
    pytest.fail(f"timed out waiting for {what}:\n{output}")


def get(url: str, key: str | None = None, host: str | None = None) -> int:
    headers = {"X-API-Key": key} if key else {}
    if host:
        headers["Host"] = host
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0


def schedules(env: dict[str, str]) -> list[str] | None:
    """Names in django_q_schedule, or None while the table does not exist."""
    if env.get("DATABASE_URL"):
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as connection:
            exists = connection.execute("SELECT to_regclass('django_q_schedule')").fetchone()
            if exists[0] is None:
                return None
            return [row[0] for row in connection.execute("SELECT name FROM django_q_schedule")]
    path = Path(env["DATA_DIR"]) / "db.sqlite3"
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
        tables = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'django_q_schedule'"
        ).fetchall()
        if not tables:
            return None
        return [row[0] for row in connection.execute("SELECT name FROM django_q_schedule")]


@pytest.fixture(params=["sqlite", "postgres+redis"])
def backends(request):
    if request.param == "sqlite":
        yield {}
    else:
        with fresh_postgres_and_redis(redis_db=3) as env:
            yield env


@pytest.mark.e2e
def test_entrypoint_worker_waits_web_migrates_and_serves_then_both_stop(tmp_path, backends):
    needs_venv()
    port = free_port()
    env = entrypoint_env(tmp_path / "data", port, backends)
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    base_url = f"http://127.0.0.1:{port}"
    with running() as processes:
        # A worker started first, on an empty database, waits for web's migration.
        worker = start("worker", env, worker_log)
        processes.append(worker)
        wait_until(
            lambda: "waiting for the web service" in worker_log.read_text(), 60,
            "the worker says it waits", worker, logs=[worker_log],
        )  # fmt: skip
        time.sleep(2)
        assert worker.poll() is None
        assert schedules(env) is None, "the worker must not migrate"

        web = start("web", env, web_log)
        processes.append(web)
        wait_until(
            lambda: get(f"{base_url}/get_keys", ADMIN_KEY) == 200, 120,
            "web to answer /get_keys with the admin key", web, logs=[web_log],
        )  # fmt: skip
        assert get(f"{base_url}/get_keys", "wrong-key") == 401

        # The worker goes on to the cluster, which stays up; migrate made the schedule.
        wait_until(
            lambda: re.search(r"Q Cluster .+ running", worker_log.read_text()), 120,
            "the worker's cluster to run", worker, logs=[worker_log],
        )  # fmt: skip
        assert "ytdlphost-cleanup" in (schedules(env) or [])
        time.sleep(3)
        assert worker.poll() is None, worker_log.read_text()[-4000:]
        assert web.poll() is None, web_log.read_text()[-4000:]

        # The container healthchecks agree with what runs.
        def health(role):
            return subprocess.run(
                [sys.executable, str(HEALTHCHECK), role], env=env, capture_output=True
            ).returncode

        assert health("worker") == 0
        assert get(f"{base_url}/healthz?skip=workers") == 200
        assert health("web") == 0
        assert get(f"{base_url}/healthz") == 200  # the whole service, workers included

        # SIGTERM (what `docker stop` sends) stops each.
        for process, log in ((web, web_log), (worker, worker_log)):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                pytest.fail(f"did not stop on SIGTERM:\n{log.read_text()[-4000:]}")
            assert process.returncode == 0, log.read_text()[-4000:]


def load_healthcheck():
    spec = importlib.util.spec_from_file_location("healthcheck", HEALTHCHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        (None, "localhost"),
        ("*", "localhost"),
        ("api.example.com, other.example", "api.example.com"),
        (" ,.example.com", "example.com"),
    ],
)
def test_the_web_healthcheck_names_an_allowed_host(monkeypatch, allowed_hosts, host):
    if allowed_hosts is None:
        monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    else:
        monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)
    assert load_healthcheck().host_header() == host


@pytest.mark.e2e
def test_the_web_healthcheck_is_accepted_with_only_a_public_name_allowed(tmp_path):
    """Every request's Host is checked (ytdlphost/request_guard.py), /healthz's too: the
    healthcheck, which connects to 127.0.0.1, must still name a host the service answers."""
    needs_venv()
    port = free_port()
    env = {**entrypoint_env(tmp_path / "data", port, {}), "ALLOWED_HOSTS": "api.example.com"}
    log, url = tmp_path / "web.log", f"http://127.0.0.1:{port}/healthz?skip=workers"
    with running() as processes:
        web = start("web", env, log)
        processes.append(web)
        wait_until(
            lambda: get(url, host="api.example.com") == 200, 120,
            "web to answer /healthz for api.example.com", web, logs=[log],
        )  # fmt: skip
        assert get(url) == 400  # Host: 127.0.0.1 is refused, as it should be
        check = subprocess.run(
            [sys.executable, str(HEALTHCHECK), "web"], env=env, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr


def test_entrypoint_worker_stops_at_once_while_waiting(tmp_path):
    needs_venv()
    env = entrypoint_env(tmp_path / "data", free_port(), {})
    log = tmp_path / "worker.log"
    with running() as processes:
        worker = start("worker", env, log)
        processes.append(worker)
        wait_until(
            lambda: "waiting for the web service" in log.read_text(), 60,
            "the worker says it waits", worker, logs=[log],
        )  # fmt: skip
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
        # 143: the script's own signal handler ended it, not the end of its wait.
        assert worker.returncode == 143
    assert schedules(env) is None


def test_entrypoint_finds_the_virtualenv_and_runs_other_commands(tmp_path):
    """From a checkout, with no virtualenv on PATH, the entrypoint uses .venv; an argument
    other than web or worker is run as a command."""
    needs_venv()
    env = entrypoint_env(tmp_path / "data", free_port(), {})
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    result = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", "import sys, django, gunicorn; print(sys.prefix)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == VENV.resolve()
