"""yt-dlp updated at runtime: find the version YTDLP_UPDATE asks for, install it beside
the image's, prove it on a canary, make it current; roll it back when it fails.

Checked every YTDLP_UPDATE_INTERVAL hours by a django-q2 schedule (`scheduled_update`,
not when YTDLP_UPDATE is `off`) and on demand by `manage.py update_ytdlp` (`update`,
`rollback`). Which version each process runs is ytdlp_versions.py's; the canary is
ytdlp_canary.py; what happened is kept as YtdlpEvent rows.

Installing. pip does all of it, as pip is configured on the machine (PIP_INDEX_URL,
PIP_FIND_LINKS, PIP_NO_INDEX, pip.conf: a mirror or a folder of wheels works with no
setting of ours): `pip install --dry-run --report` names the newest version (`--pre` for
`nightly`: yt-dlp publishes its nightlies as pre-releases), and `pip install
yt-dlp[default]==V` installs it. Each version gets a virtualenv of its own under
DATA_DIR/yt-dlp/versions/, created without pip and with a .pth file that makes the
service's own site-packages visible after the version's: pip then sees the service's
packages as installed, installs only yt-dlp and whatever of its [default] extras the
service lacks or has too old, and never touches the service's own site-packages (a
distribution outside the virtualenv is not uninstalled). `pip install --target` would
reinstall every dependency instead, and fail offline where only yt-dlp's wheel is at
hand. The virtualenv's interpreter is also the canary's: that version first on its path.

Trust: an update trusts the package index pip is configured with, as the image build did;
no hash can be pinned for a version not yet released. Operators who pin everything set
YTDLP_UPDATE=off and rebuild images (docs/production.md).

Rolling back on its own: a worker that finished a task with error_code `internal` on an
updated version counts the finished tasks of that version still in the database (they
are kept TASK_CLEANUP_TIME): with at least YTDLP_ROLLBACK_MIN_TASKS of them, and a share
of `internal` above YTDLP_ROLLBACK_SHARE and above the previous version's, the previous
version becomes current again on this host and the version is marked rolled back; a host
still running a version rolled back elsewhere rolls back at its next such failure.
"""

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q
from packaging.version import InvalidVersion, Version

from downloads_app import processes, ytdlp_versions
from downloads_app.errors import ErrorCode
from downloads_app.models import Task, TaskStatus, YtdlpEvent

logger = logging.getLogger("ytdlphost.ytdlp")

CHANNELS = ("stable", "nightly")
OFF = "off"
# Seconds pip may take to find or install a version, and the canary to run.
PIP_TIMEOUT = 600
CANARY_TIMEOUT = 600
# How many earlier current versions a host remembers for --rollback.
HISTORY_LENGTH = 10
BASE_PATH_FILE = "_ytdlphost_base.pth"
REFUSING_KINDS = (YtdlpEvent.Kind.REFUSED, YtdlpEvent.Kind.ROLLED_BACK)
CHECK_KINDS = (
    YtdlpEvent.Kind.UP_TO_DATE, YtdlpEvent.Kind.UPDATED,
    YtdlpEvent.Kind.REFUSED, YtdlpEvent.Kind.FAILED,
)  # fmt: skip


class UpdateFailed(Exception):
    """An update that changed nothing; its message says why."""


def parse_setting(value: str) -> str:
    """YTDLP_UPDATE as `stable`, `nightly`, `off` or a version; ValueError otherwise."""
    if value in (*CHANNELS, OFF):
        return value
    try:
        return str(Version(value))
    except InvalidVersion:
        raise ValueError(
            f"YTDLP_UPDATE={value!r} is not stable, nightly, off or a version number"
        ) from None


def _pip_environment() -> dict[str, str]:
    """What pip needs of the environment (its PIP_* settings, where pip.conf may be, the
    proxies and certificates a task's child keeps too), and no secret of the service: a
    package pip must build from source runs its own code."""
    kept = processes.child_environment(os.environ)
    pip_settings = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("PIP_") or name in ("XDG_CONFIG_HOME", "REQUESTS_CA_BUNDLE")
    }
    return {**kept, **pip_settings}


def _pip(python: str, *args: str) -> subprocess.CompletedProcess:
    """pip as the machine configures it (its environment and pip.conf), run by `python`."""
    command = [python, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT, env=_pip_environment()
        )
    except subprocess.TimeoutExpired:
        raise UpdateFailed(f"pip took longer than {PIP_TIMEOUT} s") from None


def _pip_error(finished: subprocess.CompletedProcess) -> str:
    lines = [line for line in finished.stderr.splitlines() if line.startswith("ERROR")]
    return " ".join(lines or finished.stderr.strip().splitlines()[-3:]) or "pip failed"


def newest_version(channel: str) -> str:
    """The newest version of yt-dlp the package index offers on `channel`."""
    pre = ["--pre"] if channel == "nightly" else []
    finished = _pip(
        sys.executable, "install", "--dry-run", "--quiet", "--no-deps", "--ignore-installed",
        *pre, "--report", "-", "yt-dlp",
    )  # fmt: skip
    if finished.returncode != 0:
        raise UpdateFailed(f"the package index has no yt-dlp for us: {_pip_error(finished)}")
    report = json.loads(finished.stdout)
    return ytdlp_versions.canonical(report["install"][0]["metadata"]["version"])


def _base_paths() -> list[str]:
    """The service's own site-packages, for a version's virtualenv to see after its own."""
    import site

    return [path for path in site.getsitepackages() if os.path.isdir(path)]


def install(version: str) -> None:
    """yt-dlp[default]==version in a virtualenv of its own (module docstring); kept when
    it is there already."""
    folder = ytdlp_versions.version_dir(version)
    packages = ytdlp_versions.site_packages(folder)
    if (packages / "yt_dlp" / "__init__.py").is_file():
        return
    shutil.rmtree(folder, ignore_errors=True)  # what an interrupted install left
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    (packages / BASE_PATH_FILE).write_text("".join(f"{path}\n" for path in _base_paths()))
    finished = _pip(python_of(version), "install", "--quiet", f"yt-dlp[default]=={version}")
    if finished.returncode != 0 or not (packages / "yt_dlp" / "__init__.py").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        raise UpdateFailed(f"pip could not install yt-dlp {version}: {_pip_error(finished)}")


def _prune() -> None:
    """Remove the installed versions this host can no longer switch to: neither current
    nor in its history."""
    pointer = ytdlp_versions.read_pointer()
    kept = {pointer.get("version"), *pointer.get("history", [])}
    for folder in (ytdlp_versions.root() / "versions").glob("*"):
        if folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)


def python_of(version: str) -> str:
    return str(ytdlp_versions.version_dir(version) / "bin" / "python")


def canary_problems(version: str) -> list[str]:
    """Run the canary (ytdlp_canary.py) with the version's interpreter; its problems."""
    # With this process's environment, its settings module included: the canary keeps
    # only what a task's child keeps once Django has read its settings.
    try:
        finished = subprocess.run(
            [python_of(version), "-m", "downloads_app.ytdlp_canary"],
            cwd=settings.BASE_DIR, capture_output=True, text=True,
            timeout=CANARY_TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return [f"the canary took longer than {CANARY_TIMEOUT} s"]
    try:
        result = json.loads(finished.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = finished.stderr.strip().splitlines()[-1:] or [f"exit code {finished.returncode}"]
        return [f"the canary's process failed: {last[0]}"]
    if result["version"] != version:
        return [f"the canary imported yt-dlp {result['version']}, not {version}"]
    return result["problems"]


@dataclass
class Result:
    kind: str  # a YtdlpEvent.Kind
    version: str
    reason: str = ""

    @property
    def failed(self) -> bool:
        return self.kind in (YtdlpEvent.Kind.REFUSED, YtdlpEvent.Kind.FAILED)


def _record(kind: str, version: str, reason: str = "") -> Result:
    YtdlpEvent.objects.create(
        kind=kind, version=version, reason=reason,
        current=ytdlp_versions.current().version, host=processes.this_host(),
    )  # fmt: skip
    return Result(kind, version, reason)


def refusal_of(version: str) -> YtdlpEvent | None:
    return YtdlpEvent.objects.filter(version=version, kind__in=REFUSING_KINDS).first()


@contextlib.contextmanager
def _one_at_a_time():
    """One update at a time on this host (the schedule and the command may meet)."""
    ytdlp_versions.root().mkdir(parents=True, exist_ok=True)
    with open(ytdlp_versions.root() / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpdateFailed("another update of yt-dlp is running on this host") from None
        yield


def _target(wanted: str | None) -> tuple[str, str]:
    """The version to try, and who asks for it: the command's --version (`command`),
    YTDLP_UPDATE's channel (`channel`) or its pin (`pin`)."""
    if wanted:
        return ytdlp_versions.canonical(wanted), "command"
    setting = parse_setting(settings.YTDLP_UPDATE)
    if setting == OFF:
        setting = "stable"  # the command works whatever YTDLP_UPDATE says
    if setting in CHANNELS:
        return newest_version(setting), "channel"
    return setting, "pin"


def update(wanted: str | None = None, *, scheduled: bool = False) -> Result:
    """Bring this host to `wanted` (the command's --version), or to what YTDLP_UPDATE
    asks for. Changes nothing unless the version passes the canary."""
    try:
        with _one_at_a_time():
            return _update(wanted, scheduled)
    except UpdateFailed as exc:
        # Once, without a traceback: a machine without network fails this every time.
        logger.warning("yt-dlp update check failed: %s", exc)
        return _record(YtdlpEvent.Kind.FAILED, wanted or "", str(exc))


def _update(wanted: str | None, scheduled: bool) -> Result:
    version, asked_by = _target(wanted)
    active = ytdlp_versions.current()
    bundled = ytdlp_versions.bundled_version()
    pinned = asked_by == "command"
    if version == active.version:
        return _record(YtdlpEvent.Kind.UP_TO_DATE, version, "already current")
    if asked_by == "channel" and not ytdlp_versions.is_newer(version, active.version):
        return _record(YtdlpEvent.Kind.UP_TO_DATE, version, f"{active.version} is newer")
    if version == bundled:  # back to the image's own: nothing to install or prove
        _make_current(version, pinned=False, previous=active.version)
        return _record(YtdlpEvent.Kind.UPDATED, version, f"the image's own; was {active.version}")
    if not pinned and not ytdlp_versions.is_newer(version, bundled):
        return _record(YtdlpEvent.Kind.UP_TO_DATE, version, f"not newer than the image's {bundled}")
    if scheduled and (refused := refusal_of(version)):
        return _record(YtdlpEvent.Kind.UP_TO_DATE, version, f"not tried again: {refused.reason}")
    install(version)
    if problems := canary_problems(version):
        reason = "the canary failed: " + "; ".join(problems)
        logger.error("yt-dlp %s refused: %s", version, reason)
        _prune()
        return _record(YtdlpEvent.Kind.REFUSED, version, reason)
    _make_current(version, pinned=pinned, previous=active.version)
    _prune()
    logger.warning("yt-dlp %s passed the canary and is current (was %s)", version, active.version)
    return _record(YtdlpEvent.Kind.UPDATED, version, f"was {active.version}")


def _make_current(version: str, *, pinned: bool, previous: str) -> None:
    history = [*ytdlp_versions.read_pointer().get("history", []), previous]
    ytdlp_versions.write_pointer(version, pinned=pinned, history=history[-HISTORY_LENGTH:])


def rollback(reason: str = "rolled back by manage.py update_ytdlp --rollback") -> Result:
    """The previous current version of this host becomes current again; the one it
    replaces is marked rolled back, so the schedule does not install it again."""
    with _one_at_a_time():
        active = ytdlp_versions.current()
        history = ytdlp_versions.read_pointer().get("history", [])
        if active.source == ytdlp_versions.BUNDLED and not history:
            raise UpdateFailed(f"nothing to roll back to: {active.version} is the image's own")
        previous = history[-1] if history else ytdlp_versions.bundled_version()
        bundled = ytdlp_versions.bundled_version()
        pinned = previous != bundled and not ytdlp_versions.is_newer(previous, bundled)
        ytdlp_versions.write_pointer(previous, pinned=pinned, history=history[:-1])
        logger.warning("yt-dlp %s rolled back to %s: %s", active.version, previous, reason)
        return _record(YtdlpEvent.Kind.ROLLED_BACK, active.version, f"{reason} (to {previous})")


def _internal_share(version: str) -> tuple[int, int]:
    """(finished tasks that ran on `version`, those that failed as `internal`)."""
    finished = Task.objects.filter(
        yt_dlp_version=version, status__in=(TaskStatus.COMPLETED, TaskStatus.ERROR),
        cancelled=False,
    )  # fmt: skip
    internal = Count("id", filter=Q(error_code=ErrorCode.INTERNAL))
    counts = finished.aggregate(total=Count("id"), internal=internal)
    return counts["total"], counts["internal"]


def roll_back_if_failing(version: str) -> Result | None:
    """After a task failed as `internal` on `version` (runner.py): roll this host back
    when the version fails (module docstring)."""
    active = ytdlp_versions.current()
    if active.source != ytdlp_versions.UPDATED or active.version != version:
        return None
    if refused := refusal_of(version):
        return rollback(f"rolled back on another host: {refused.reason}")
    total, internal = _internal_share(version)
    if (
        total < settings.YTDLP_ROLLBACK_MIN_TASKS
        or internal / total <= settings.YTDLP_ROLLBACK_SHARE
    ):
        return None
    history = ytdlp_versions.read_pointer().get("history", [])
    previous = history[-1] if history else ytdlp_versions.bundled_version()
    previous_total, previous_internal = _internal_share(previous)
    previous_share = previous_internal / previous_total if previous_total else 0.0
    if internal / total <= previous_share:
        return None  # failing as much as before: not this version's fault
    return rollback(
        f"{internal} of {total} finished tasks on yt-dlp {version} failed with error_code "
        f"internal (YTDLP_ROLLBACK_SHARE {settings.YTDLP_ROLLBACK_SHARE}; {previous}: "
        f"{previous_share:.0%})"
    )  # fmt: skip


def scheduled_update() -> dict:
    """The schedule's check (not when YTDLP_UPDATE is off)."""
    if settings.YTDLP_UPDATE == OFF:
        return {"yt_dlp": "off"}
    result = update(scheduled=True)
    return {"yt_dlp": str(result.kind), "version": result.version, "reason": result.reason}


def health() -> dict:
    """/healthz's `yt_dlp`: what this host runs, the last check, the last refusal."""
    active = ytdlp_versions.current()
    last = YtdlpEvent.objects.filter(kind__in=CHECK_KINDS).first()
    refused = YtdlpEvent.objects.filter(kind__in=REFUSING_KINDS).first()
    return {
        "ok": True,
        "version": active.version,
        "source": active.source,
        "update": settings.YTDLP_UPDATE,
        "last_check": _describe(last),
        "last_refused": _describe(refused),
    }


def _describe(event: YtdlpEvent | None) -> dict | None:
    if event is None:
        return None
    return {
        "at": event.created_at.isoformat(), "outcome": event.kind,
        "version": event.version or None, "reason": event.reason, "host": event.host,
    }  # fmt: skip


def summary() -> str:
    """health() in a sentence, for the admin."""
    state = health()
    text = f"This host runs yt-dlp {state['version']} ({state['source']})."
    if last := state["last_check"]:
        text += f" Last check {last['at']}: {last['outcome']}, {last['reason']}."
    if refused := state["last_refused"]:
        text += f" Last refused: {refused['version']} ({refused['reason']})."
    return text
