"""The real service as subprocesses: gunicorn and a django-q2 cluster on a fresh DATA_DIR.

Used by the end-to-end tests and by bench/. The stack runs with the production settings
module; only its environment differs (private URLs allowed for the 127.0.0.1 media server).
"""

import contextlib
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


# What `migrate` writes depends on these settings only: the database, and the admin key it
# seeds (ADMIN_API_KEY), encrypted under keys derived from SECRET_KEY (the generated one is
# the secret_key file) or given as KEY_ENCRYPTION_KEYS.
MIGRATION_INPUTS = ("DATABASE_URL", "SECRET_KEY", "ADMIN_API_KEY", "KEY_ENCRYPTION_KEYS")
MIGRATED_FILES = ("db.sqlite3", "secret_key")
# A DATA_DIR migrated once in this process for each set of MIGRATION_INPUTS values.
_migrated: dict[tuple[str, ...], Path] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveStack:
    """migrate, then gunicorn on 127.0.0.1:<port> and `manage.py qcluster`.

    `admin_key` is the secret of the seeded admin key (set through ADMIN_API_KEY). `etc`
    ({"hosts": text, "resolv.conf": text}) are files the clusters see in /etc in place of
    the machine's (a mount namespace of their own; needs root): a host name with several
    loopback addresses, a name server on loopback.
    """

    def __init__(
        self, data_dir: Path, *, web_workers=2, env=None, clusters=1, etc=None, web_env=None
    ):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.admin_key = "e2e-admin-secret-0123456789"
        self.web_workers = web_workers
        self.clusters = clusters
        self.etc = etc or {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ytdlphost.settings",
            "DATA_DIR": str(self.data_dir),
            "ALLOW_PRIVATE_URLS": "true",
            "ADMIN_API_KEY": self.admin_key,
            "BIND": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_WORKERS": str(web_workers),
            "LOG_LEVEL": "WARNING",
            "MIN_FREE_DISK": "0",
            "YTDLP_UPDATE": "off",  # no package index to ask (no network)
            "YTDLPHOST_ENV_FILE": "",  # never the developer's .env
            **(env or {}),
        }
        if "resolv.conf" in self.etc:
            # Its options rule (a name server that makes the resolver wait), not the tests'
            # RES_OPTIONS (tests/conftest.py), which glibc would prefer to them.
            self.env.pop("RES_OPTIONS", None)
        # What only the web side sees (a DOWNLOAD_DIR of its own: no disk shared with the
        # workers).
        self.web_env = web_env or {}
        self.processes: list[subprocess.Popen] = []
        self.log_path = self.data_dir / "stack.log"

    def _spawn(self, args, log_path=None, env=None):
        log = open(log_path or self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            args, cwd=REPO, env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def start(self, timeout=60.0) -> "LiveStack":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._migrate()
        for index in range(self.clusters):
            self.start_cluster(self.cluster_log(index))
        # As run.sh runs it: gunicorn.conf.py, with this stack's address and size.
        self._spawn([str(VENV_BIN / "gunicorn")], env={**self.env, **self.web_env})
        if not self._answers(self.base_url, timeout):
            self.stop()
            raise RuntimeError(f"the stack did not start; see {self.log_path}")
        return self

    @staticmethod
    def _answers(base_url: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base_url}/get_keys", timeout=5)
                return True
            except (requests.ConnectionError, requests.Timeout):  # not listening, or booting
                time.sleep(0.2)
        return False

    def start_web(self, env: dict, timeout=60.0) -> str:
        """Another gunicorn on the stack's database with `env` added to the web side's:
        the same service under other settings (a setting read per request, such as
        S3_PRESIGNED_REDIRECT). Its base URL; stopped with the stack."""
        port = free_port()
        environment = {**self.env, **self.web_env, **env, "PORT": str(port), "WEB_WORKERS": "1"}
        self._spawn([str(VENV_BIN / "gunicorn")], env=environment)
        base_url = f"http://127.0.0.1:{port}"
        if not self._answers(base_url, timeout):
            raise RuntimeError(f"the second web server did not start; see {self.log_path}")
        return base_url

    def _migrate(self) -> None:
        """`manage.py migrate` on the stack's DATA_DIR. A fresh DATA_DIR on SQLite gets a
        copy of the files of one migrated earlier in this process with the same
        MIGRATION_INPUTS instead: migrating takes seconds, and most tests start stacks."""
        fresh = not any((self.data_dir / name).exists() for name in MIGRATED_FILES)
        if not fresh or self.env.get("DATABASE_URL"):
            return self._run_migrate(self.env)
        inputs = tuple(self.env.get(name, "") for name in MIGRATION_INPUTS)
        if inputs not in _migrated:
            template = Path(tempfile.mkdtemp(prefix="ytdlphost-migrated-")) / "data"
            self._run_migrate({**self.env, "DATA_DIR": str(template)})
            _migrated[inputs] = template
        for name in MIGRATED_FILES:  # no secret_key file when SECRET_KEY is set
            with contextlib.suppress(FileNotFoundError):
                shutil.copy2(_migrated[inputs] / name, self.data_dir / name)

    @staticmethod
    def _run_migrate(env) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=REPO, env=env, check=True, capture_output=True,
        )  # fmt: skip

    def cluster_log(self, index: int) -> Path:
        """Where cluster `index` logs: stack.log, or cluster-<index>.log with several
        clusters, so a test can tell which cluster did what."""
        return self.log_path if self.clusters == 1 else self.data_dir / f"cluster-{index}.log"

    def start_cluster(self, log_path=None, *, own_machine=False) -> subprocess.Popen:
        """Start a qcluster. `own_machine`: in a pid namespace of its own (needs root), so
        that the other clusters cannot look its workers up by pid and know it only by its
        heartbeats, as a cluster on another machine; killing it (kill_cluster) ends every
        process of that namespace at once, as when that machine goes down."""
        command = [sys.executable, "manage.py", "qcluster"]
        if self.etc:
            command = self._with_etc_files(command)
        if own_machine:
            command = ["unshare", "--pid", "--fork", "--mount-proc", *command]
        return self._spawn(command, log_path)

    def _with_etc_files(self, command: list[str]) -> list[str]:
        """`command` run with this stack's `etc` files in place of the machine's."""
        directory = self.data_dir / "etc"
        directory.mkdir(exist_ok=True)
        mounts = []
        for name, text in self.etc.items():
            (directory / name).write_text(text)
            mounts.append(f"mount --bind {shlex.quote(str(directory / name))} /etc/{name}")
        mount_then_run = " && ".join([*mounts, 'exec "$@"'])
        return ["unshare", "--mount", "sh", "-c", mount_then_run, "sh", *command]

    def kill_cluster(self, cluster: subprocess.Popen) -> None:
        """SIGKILL a cluster and every process it started (its workers, their tasks' child
        processes and ffmpeg), all at once, as a crash or `docker kill` would."""
        from tests.support.processes import descendants

        # Stopped first, then killed: killed one by one, a task's child could see its
        # ffmpeg die before its own turn came and record the task as failed.
        doomed = {cluster.pid, *descendants(cluster.pid)}
        for sent in (signal.SIGSTOP, signal.SIGKILL):
            for pid in doomed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sent)
        cluster.wait()
        self.processes.remove(cluster)

    def stop(self) -> None:
        # SIGTERM to each main process only, as a process manager would: gunicorn's master
        # and qcluster stop their own children in order. Signalling the whole group kills
        # django-q2's sentinel under qcluster, which then waits forever on a lock of it.
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is left
            process.wait()
        self.processes.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def manage(self, *args: str) -> str:
        """The output of `manage.py <args>` run against this stack's database."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO, env=self.env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    def create_key(self, name: str, permissions, **extra) -> str:
        """The secret of a new key, created with the admin key through POST /create_key."""
        response = requests.post(
            f"{self.base_url}/create_key",
            json={"name": name, "permissions": list(permissions), **extra},
            headers={"X-API-Key": self.admin_key},
            timeout=10,
        )
        if response.status_code != 201:
            raise RuntimeError(f"create_key {name}: {response.status_code} {response.text}")
        return response.json()["key"]

    def submit(self, key: str, endpoint: str, body: dict) -> str:
        """The id of a new task (POST `endpoint` with `body`, which must be accepted)."""
        response = requests.post(
            f"{self.base_url}{endpoint}", json=body, headers={"X-API-Key": key}, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()["task_id"]

    def run(self, key: str, endpoint: str, body: dict, timeout=120.0) -> dict:
        """The final /status body of a new task."""
        return self.wait_for(self.submit(key, endpoint, body), key, timeout=timeout)

    def task_files(self, task_id: str) -> list[Path]:
        """Every file in the task's directory, partial ones included."""
        directory = self.data_dir / "downloads" / task_id
        if not directory.exists():
            return []
        return [path for path in directory.rglob("*") if path.is_file()]

    def start_recording(self, key: str, url: str, duration: float, endpoint="/get_live_video"):
        """The id of a new live task, once its ffmpeg is running and has written something."""
        from tests.support.processes import task_processes, wait_until

        task_id = self.submit(key, endpoint, {"url": url, "duration": duration})
        wait_until(
            lambda: (
                "ffmpeg" in task_processes(task_id).values()
                and any(path.stat().st_size for path in self.task_files(task_id))
            ),
            45,
            "ffmpeg never started recording",
        )
        return task_id

    def task_row(self, task_id: str):
        """The task's row, read straight from the stack's SQLite database."""
        with sqlite3.connect(self.data_dir / "db.sqlite3") as db:
            db.row_factory = sqlite3.Row
            query = "SELECT * FROM downloads_app_task WHERE id = ?"
            return db.execute(query, [task_id]).fetchone()

    def wait_for(self, task_id: str, key: str, timeout=120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = requests.get(
                f"{self.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=10
            ).json()
            if status["status"] in ("completed", "error"):
                return status
            time.sleep(0.1)
        raise TimeoutError(f"task {task_id} did not finish in {timeout} s")
