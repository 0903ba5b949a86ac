"""The service's configuration file and its state on disk: .env, DATA_DIR, DOWNLOAD_DIR,
the generated secret key and the metrics directory.

`load_env_file()` reads .env into the environment, once per process start: manage.py,
wsgi.py, asgi.py and gunicorn.conf.py call it first. The test settings do not: a
developer's .env must not change what the tests see.

`prepare()` creates them, once per process start, explicitly: manage.py, wsgi.py and
asgi.py call it before Django reads its settings, and the test settings call it for their
temporary DATA_DIR. Importing the settings reads these paths and creates nothing.
"""

import os
import secrets
import time
from pathlib import Path

from dotenv import load_dotenv

from ytdlphost.env import env_bool, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name)
# Where .env is; another path, or "" for none (the tests' live stacks).
ENV_FILE_VARIABLE = "YTDLPHOST_ENV_FILE"


def env_file() -> Path | None:
    path = os.environ.get(ENV_FILE_VARIABLE, str(BASE_DIR / ".env"))
    return Path(path) if path else None


def load_env_file() -> None:
    """Settings from .env in the project directory, when it exists: the file Docker
    Compose reads, in its syntax (python-dotenv's). The environment wins over the file."""
    path = env_file()
    if path is not None and path.is_file():
        load_dotenv(path, override=False)


def data_dir() -> Path:
    return Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()


def download_dir() -> Path:
    return Path(env_str("DOWNLOAD_DIR", str(data_dir() / "downloads"))).resolve()


def metrics_dir() -> Path:
    return data_dir() / "metrics"


def prepare() -> None:
    """Create what the service writes to, for its own user only. Safe when several
    processes (web, workers, manage.py) start at once."""
    # Everything the service writes is for its own user: the database with its -wal and
    # -shm (key digests and encrypted secrets), downloads (their URLs are secrets), the
    # cache, the generated secret_key. ffmpeg inherits the mask too: directories are
    # created 0700, files 0600. Directories that already exist keep their permissions.
    os.umask(0o077)
    data_dir().mkdir(parents=True, exist_ok=True)
    download_dir().mkdir(parents=True, exist_ok=True)
    if not os.environ.get("SECRET_KEY"):
        _create_secret_key(data_dir() / SECRET_KEY_FILE)
    if env_bool("METRICS_ENABLED", False):
        # The web processes and workers of a host share counters through files there
        # (prometheus_client's multiprocess mode). prometheus_client reads the variable
        # when it is first imported, which django-q2 does while Django starts.
        metrics_dir().mkdir(exist_ok=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir()))


def _create_secret_key(path: Path) -> None:
    try:
        # O_EXCL: when web and worker start together only one of them writes the file.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(50))


def secret_key() -> str:
    """SECRET_KEY from the environment, or the one prepare() generated once in DATA_DIR.

    Keeping it means a restart does not invalidate signed payloads (django-q2 signs its
    task packages) or the default key-encryption key derived from it. "" when neither
    exists yet: Django then refuses to start, naming SECRET_KEY.
    """
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    path = data_dir() / SECRET_KEY_FILE
    # Another process may have created the file a moment ago and not yet written it.
    for _ in range(50):
        try:
            existing = path.read_text().strip()
        except FileNotFoundError:
            return ""
        if existing:
            return existing
        time.sleep(0.1)
    raise RuntimeError(f"{path} is empty; delete it or set SECRET_KEY")
