"""The Docker production profile, checked without a Docker engine.

- docker-compose.yml: the services, their healthchecks and restart policies, ports, the
  shared downloads volume, every ${VARIABLE} documented in .env.example; and
  `docker compose config` when a Compose v2 CLI is installed (it needs no daemon).
- Dockerfile and .dockerignore: base image, non-root user, healthcheck, runtime
  requirements only, what the image needs is in the build context, secrets and state
  are not.
- docker/entrypoint.sh run on this host as the image runs it: `worker` waits for the
  migration, `web` migrates and serves, the worker then runs the cluster, SIGTERM stops
  both. On SQLite, and on PostgreSQL + Redis like the compose file when
  scripts/test-services.sh runs.
"""

import contextlib
import importlib.metadata
import importlib.util
import json
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
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.backends import fresh_postgres_and_redis
from tests.stack import free_port

REPO = Path(__file__).resolve().parent.parent
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
HEALTHCHECK = REPO / "docker" / "healthcheck.py"
APP_SERVICES = ("web", "worker")
ALL_SERVICES = ("web", "worker", "postgres", "redis")
FIRST_PARTY = {"ytdlphost", "keys_app", "downloads_app"}
TEST_TOOLS = {"pytest", "pytest-django", "ruff", "schemathesis", "pyyaml", "yt-dlp-host-api"}


# --- Reading the files -----------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def compose_text() -> str:
    return (REPO / "docker-compose.yml").read_text()


def env_example() -> dict[str, str | None]:
    """Names documented in .env.example: value when set, None when commented out."""
    names: dict[str, str | None] = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if match := re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line):
            names[match[1]] = match[2]
        elif match := re.match(r"^#\s*([A-Z][A-Z0-9_]*)=", line):
            names.setdefault(match[1], None)
    return names


VARIABLE_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?+]|)(.*)", re.S)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
    ${NAME:?error}, ${NAME?error}, ${NAME:+alt}, nested in defaults."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                if j >= len(text):
                    raise ValueError(f"unclosed ${{ in {text!r}")
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            body = text[i + 2 : j - 1]
            name, op, rest = VARIABLE_RE.fullmatch(body).groups()
            value = env.get(name)
            unset_or_empty = value is None or (op.startswith(":") and value == "")
            if op in (":-", "-"):
                value = interpolate(rest, env) if unset_or_empty else value
            elif op in (":?", "?"):
                if unset_or_empty:
                    raise KeyError(f"{name}: {rest}")
            elif op in (":+", "+"):
                value = "" if unset_or_empty else interpolate(rest, env)
            out.append(value or "")
            i = j
        elif match := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[i:]):
            out.append(env.get(match[1], ""))
            i += len(match[0])
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def compose_variables() -> set[str]:
    text = re.sub(r"^\s*#.*$", "", compose_text(), flags=re.M).replace("$$", "")
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        keyword, _, arguments = current.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def instructions(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile() if name == keyword]


def exec_form(arguments: str) -> list[str]:
    return json.loads(arguments) if arguments.startswith("[") else arguments.split()


def dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """(is_exception, regex) per line of .dockerignore, in order."""
    patterns = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex += "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]"
                i = end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        patterns.append((negate, re.compile(regex)))
    return patterns


def excluded_from_context(path: str) -> bool:
    """Whether Docker leaves `path` (relative to the repository) out of the build context:
    the last pattern matching it, or one of its parent directories, decides."""
    parts = Path(path).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for negate, regex in dockerignore_patterns():
        if any(regex.fullmatch(candidate) for candidate in candidates):
            result = not negate
    return result


RUNTIME_MARKER_RE = re.compile(r"sed '/\^(#[^/]+)/,\$d' requirements\.txt")


def runtime_requirements() -> list[Requirement]:
    """The requirements the image installs: requirements.txt above the marker line that
    the Dockerfile cuts at."""
    run = " ".join(instructions("RUN"))
    match = RUNTIME_MARKER_RE.search(run)
    assert match, "the Dockerfile no longer cuts requirements.txt at a marker line"
    lines = (REPO / "requirements.txt").read_text().splitlines()
    markers = [n for n, line in enumerate(lines) if line.startswith(match[1])]
    assert len(markers) == 1, f"requirements.txt must have one {match[1]!r} line"
    return [
        Requirement(line.split("#")[0].strip())
        for line in lines[: markers[0]]
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


# --- docker-compose.yml --------------------------------------------------------------


def test_compose_has_the_services_with_healthchecks_and_restart_policies():
    services = compose()["services"]
    assert set(ALL_SERVICES) <= set(services)
    for name in ALL_SERVICES:
        service = services[name]
        assert service.get("restart") == "unless-stopped", name
        test = service.get("healthcheck", {}).get("test")
        assert test and test != ["NONE"] and not service["healthcheck"].get("disable"), name
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["image"].startswith("redis:")
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])


def test_web_and_worker_run_the_image_with_their_role():
    services = compose()["services"]
    for role in APP_SERVICES:
        service = services[role]
        assert service["command"] == [role]
        assert service["build"] == "." or service["build"].get("context", ".") == "."
        depends = service["depends_on"]
        for backend in ("postgres", "redis"):
            assert depends[backend]["condition"] == "service_healthy", (role, backend)
    # Both roles build the same image, so they run the same code.
    assert services["web"]["image"] == services["worker"]["image"]


def test_web_publishes_port_5000():
    (port,) = compose()["services"]["web"]["ports"]
    published = interpolate(port, {})
    assert published == "5000:5000"
    assert interpolate(port, {"PORT": "127.0.0.1:8000"}) == "127.0.0.1:8000:5000"
    # The container's own port stays 5000 whatever .env says (environment wins over
    # env_file), and the image's healthcheck asks that port.
    assert str(compose()["services"]["web"]["environment"]["PORT"]) == "5000"


def test_worker_can_be_scaled():
    worker = compose()["services"]["worker"]
    assert "ports" not in worker
    assert "container_name" not in worker


def test_web_and_worker_share_the_downloads_volume_at_download_dir():
    config = compose()
    mounts = {}
    for role in APP_SERVICES:
        service = config["services"][role]
        download_dir = service["environment"]["DOWNLOAD_DIR"]
        volumes = {}  # mount path -> volume
        for volume in service["volumes"]:
            source, target = volume.split(":")[:2]
            volumes[target] = source
        assert download_dir in volumes, f"{role}: nothing mounted at {download_dir}"
        mounts[role] = (volumes[download_dir], download_dir)
        assert volumes[download_dir] in config["volumes"], "a named volume, not a bind mount"
    assert mounts["web"] == mounts["worker"]


def test_every_compose_variable_is_documented_in_env_example():
    documented = env_example()
    missing = compose_variables() - set(documented)
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_env_example_documents_real_settings_and_bakes_in_no_secret():
    documented = env_example()
    known = compose_variables()
    settings_text = (REPO / "ytdlphost" / "settings.py").read_text()
    known |= set(re.findall(r"\"([A-Z][A-Z0-9_]+)\"", settings_text))
    known |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", ENTRYPOINT.read_text()))
    unknown = set(documented) - known
    assert not unknown, f".env.example documents unknown settings: {sorted(unknown)}"
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        assert documented.get(name) == "", f"{name} must be in .env.example, empty"
    for name in ("ADMIN_API_KEY", "TASK_CLEANUP_TIME", "REQUEST_LIMIT", "MAX_WORKERS"):
        assert name in documented


def test_secret_key_and_postgres_password_are_required():
    text = compose_text()
    assert re.search(r"\$\{SECRET_KEY:\?[^}]+\}", text)
    assert re.search(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", text)
    environment = compose()["services"]["web"]["environment"]
    with pytest.raises(KeyError, match="SECRET_KEY"):
        interpolate(environment["SECRET_KEY"], {})


def test_database_and_redis_urls_are_composed_from_the_service_names():
    environment = compose()["services"]["worker"]["environment"]
    env = {"SECRET_KEY": "x", "POSTGRES_PASSWORD": "pw123"}
    database = interpolate(environment["DATABASE_URL"], env)
    assert database == "postgres://ytdlphost:pw123@postgres:5432/ytdlphost"
    postgres = compose()["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_USER"] == "ytdlphost" and postgres["POSTGRES_DB"] == "ytdlphost"
    assert interpolate(environment["REDIS_URL"], env) == "redis://redis:6379/0"
    # An external server in .env wins.
    external = interpolate(environment["DATABASE_URL"], {**env, "DATABASE_URL": "postgres://db"})
    assert external == "postgres://db"


def compose_cli() -> list[str] | None:
    """A Compose v2 CLI: the docker plugin or the standalone docker-compose binary."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        version = subprocess.run([*command, "version"], capture_output=True, text=True)
        if version.returncode == 0 and re.search(r"v?2\.\d+", version.stdout):
            return command
    return None


def test_docker_compose_config_accepts_the_file(tmp_path):
    command = compose_cli()
    if command is None:
        pytest.skip("no Docker Compose v2 CLI (`docker compose` or docker-compose) installed")
    env_file = tmp_path / ".env"
    lines = (REPO / ".env.example").read_text().splitlines()
    values = {"SECRET_KEY": "not-a-real-secret", "POSTGRES_PASSWORD": "notarealpassword"}
    filled = [
        re.sub(r"^(\w+)=$", lambda m: f"{m[1]}={values.get(m[1], '')}", line) for line in lines
    ]
    env_file.write_text("\n".join(filled) + "\n")
    base = [*command, "--project-directory", str(REPO), "-f", str(REPO / "docker-compose.yml")]
    # Variables of the shell win over --env-file: leave out every documented one.
    env = {k: v for k, v in os.environ.items() if k not in env_example()}
    checked = subprocess.run(
        [*base, "--env-file", str(env_file), "config", "-q"], capture_output=True, text=True,
        env=env,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    resolved = subprocess.run(
        [*base, "--env-file", str(env_file), "config", "--format", "json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    services = json.loads(resolved.stdout)["services"]
    assert services["web"]["ports"][0]["published"] == "5000"
    assert services["worker"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    # Without SECRET_KEY, compose refuses to start, naming it.
    env_file.write_text("POSTGRES_PASSWORD=x\n")
    refused = subprocess.run(
        [*base, "--env-file", str(env_file), "config", "-q"], capture_output=True, text=True,
        env=env,
    )  # fmt: skip
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr


# --- Dockerfile and .dockerignore ----------------------------------------------------


def test_dockerfile_base_user_and_system_packages():
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base)
    users = instructions("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    run = " ".join(instructions("RUN"))
    assert re.search(r"apt-get install [^&]*\bffmpeg\b", run)
    assert "curl" not in run and "wget" not in run
    env = " ".join(instructions("ENV"))
    assert re.search(r"\bYTDLP_JS_RUNTIMES=deno\b", env)
    assert "deno --version" in run  # the runtime, from requirements.txt, really runs
    assert any(canonicalize_name(r.name) == "deno" for r in runtime_requirements())


def healthcheck_command() -> list[str]:
    (healthcheck,) = instructions("HEALTHCHECK")
    return exec_form(healthcheck.split("CMD", 1)[1].strip())


def test_dockerfile_healthcheck_asks_healthz():
    command = healthcheck_command()
    script = next(arg for arg in command if arg.endswith(".py"))
    assert script.startswith("/app/")
    assert (REPO / script.removeprefix("/app/")).is_file()
    assert "/healthz" in HEALTHCHECK.read_text()
    (workdir,) = instructions("WORKDIR")
    assert workdir == "/app"


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


def test_image_installs_the_runtime_requirements_only():
    runtime = runtime_requirements()
    names = {canonicalize_name(r.name) for r in runtime}
    assert not names & TEST_TOOLS, f"test tools above the marker: {names & TEST_TOOLS}"
    assert {"gunicorn", "django-q2", "django", "yt-dlp", "psycopg", "redis"} <= names
    run = " ".join(instructions("RUN"))
    assert not re.search(r"pip install [^&]*-r requirements\.txt", run), "installs all"


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


def test_what_the_image_needs_is_in_the_build_context():
    referenced = []
    for arguments in instructions("COPY"):
        sources = [a for a in exec_form(arguments) if not a.startswith("--")][:-1]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            if source != ".":
                referenced.append(source)
    (entrypoint,) = instructions("ENTRYPOINT")
    for argument in exec_form(entrypoint) + healthcheck_command():
        if argument.startswith("/app/"):
            referenced.append(argument.removeprefix("/app/"))
    assert "docker/entrypoint.sh" in referenced
    needed = [*referenced, "requirements.txt", "manage.py", "templates", "docker"]
    needed += sorted(FIRST_PARTY)
    for path in needed:
        assert (REPO / path).exists(), path
        assert not excluded_from_context(path), f"{path} is excluded by .dockerignore"
        if (REPO / path).is_dir():  # and nothing inside it that the service needs
            for file in (REPO / path).rglob("*"):
                relative = file.relative_to(REPO).as_posix()
                if file.is_file() and "__pycache__" not in file.parts:
                    assert not excluded_from_context(relative), relative


def test_dockerignore_keeps_secrets_state_and_tooling_out():
    for path in (
        ".env", ".env.production", ".git/HEAD", ".venv/bin/python", "data/db.sqlite3",
        "data/secret_key", "data/downloads/abc/video.mp4", "db.sqlite3", "cookies.txt",
        "keys_app/__pycache__/models.cpython-311.pyc", ".cache/media/x.mp4", "tests/conftest.py",
        "bench/run.py", ".hypothesis/examples/x",
    ):  # fmt: skip
        assert excluded_from_context(path), f"{path} would be in the image"
    assert not excluded_from_context("downloads_app/views.py")


def test_entrypoint_script_is_executable_and_handles_both_roles():
    assert ENTRYPOINT.is_file() and os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(ENTRYPOINT)], check=True)
    cases = re.findall(r"^\s+([\w|*]+)\)\s*$", ENTRYPOINT.read_text(), flags=re.M)
    assert {"web", "worker"} <= set(cases)


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


def get(url: str, key: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
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
        started = time.monotonic()
        worker.wait(timeout=15)
        assert worker.returncode == 143
        assert time.monotonic() - started < 10
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
