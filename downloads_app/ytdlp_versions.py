"""Which yt-dlp this host runs: the one the image was built with (`bundled`), or one that
ytdlp_updates.py installed into DATA_DIR and proved on a canary (`updated`).

On disk, under DATA_DIR/yt-dlp/ (a volume in the container, so it outlives a restart):

    versions/<version>/   a virtualenv per installed version (ytdlp_updates.py says why)
    current.json          {"version": ..., "pinned": ..., "history": [...]}: the host's
                          pointer, rewritten whole with os.replace, so every process of
                          the host reads either the old pointer or the new one

A pointer is a file and not a database row because it is a fact of this host: each
machine has its own DATA_DIR with its own installed versions (docs/production.md).

The bundled version is the floor: a pointer to an older version is ignored unless the
operator pinned it (`manage.py update_ytdlp --version`); so is a pointer whose folder is
gone or was made for another Python (a rebuilt image).

How a process comes to run the current version:
- at start, DownloadsAppConfig() calls `activate()` before anything imports yt_dlp (Django
  makes the app configs before it imports any model or runs any ready()): the version's
  site-packages goes first on sys.path (web, workers, manage.py alike);
- a worker calls `ensure_current()` before each task (runner.py): when the pointer has
  moved since, it swaps yt-dlp in place (`_swap`): forgets every yt_dlp module, changes
  sys.path, reloads the modules of ours that import yt_dlp (RELOADED_MODULES) and points
  the names other modules imported from them (`from downloads_app.errors import
  DownloadFailed`) at the reloaded objects, installs the connection guard and the
  extractor memo again and warms the new version up, so that the task's child, forked
  next, inherits it warm. The worker runs one task at a time: a task already running
  finishes on the version it started with; nothing is restarted. (A worker recycled by
  django-q2 would not help: it is a fork of the cluster's process, which has the old
  version loaded.) A swap costs under a second, once per worker and version; a task whose
  pointer did not move, one read of current.json (about 30 µs).

Nothing here imports yt_dlp at import time: activate() must run before it is imported.
"""

import dataclasses
import functools
import importlib
import importlib.metadata
import json
import logging
import os
import sys
import sysconfig
import time
from pathlib import Path

from django.conf import settings
from packaging.version import InvalidVersion, Version

logger = logging.getLogger("ytdlphost.ytdlp")

BUNDLED = "bundled"
UPDATED = "updated"
POINTER_NAME = "current.json"
# The modules of ours that import yt_dlp when they are imported, each after those it
# imports: reloaded after a swap so that they hold the new version's classes.
# (extractor_list.py and ytdlp_canary.py import it when called.)
RELOADED_MODULES = (
    "downloads_app.errors",
    "downloads_app.naming",
    "downloads_app.connection_guard",
    "downloads_app.ytdlp_options",
    "downloads_app.sponsorblock",
    "downloads_app.ytdlp",
)
# Where the names imported from a reloaded module are pointed at its new objects.
OUR_PACKAGES = ("downloads_app", "ytdlphost", "keys_app", "legacy_import", "page_app")
# Module names dropped on a swap: yt-dlp and the packages its [default] extras bring that
# a version may install into its own folder.
SWAPPED_PACKAGES = ("yt_dlp", "yt_dlp_ejs")

# False in a canary's process, which must run the version its interpreter has first on
# its path (ytdlp_canary.py), not the host's current one.
activation_enabled = True


def root() -> Path:
    return Path(settings.DATA_DIR) / "yt-dlp"


def pointer_path() -> Path:
    return root() / POINTER_NAME


def version_dir(version: str) -> Path:
    return root() / "versions" / version


def site_packages(venv: Path) -> Path:
    """Where a version's virtualenv keeps its packages, for this Python."""
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))


def _outside_versions(paths: list[str]) -> list[str]:
    versions = str(root() / "versions")
    return [path for path in paths if not str(Path(path or ".").resolve()).startswith(versions)]


def canonical(version: str) -> str:
    """`version` as pip and the folders here spell it (2026.11.01 -> 2026.11.1)."""
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def is_newer(candidate: str, than: str) -> bool:
    try:
        return Version(candidate) > Version(than)
    except InvalidVersion:
        return False


def _installed_version(paths: list[str]) -> str | None:
    found = next(iter(importlib.metadata.distributions(name="yt-dlp", path=paths)), None)
    return canonical(found.version) if found else None


@functools.cache
def bundled_version() -> str:
    """The yt-dlp installed with the service (the image's), whatever is first on sys.path."""
    return _installed_version(_outside_versions(sys.path))


def read_pointer() -> dict:
    """The host's pointer ({} when there is none, or it cannot be read)."""
    try:
        return json.loads(pointer_path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        logger.warning("%s cannot be read: running the bundled yt-dlp", pointer_path())
        return {}


def write_pointer(version: str, *, pinned: bool, history: list[str]) -> None:
    """Make `version` current on this host, atomically (module docstring)."""
    root().mkdir(parents=True, exist_ok=True)
    temporary = root() / f".{POINTER_NAME}.{os.getpid()}"
    data = {"version": version, "pinned": pinned, "history": history, "switched_at": time.time()}
    temporary.write_text(json.dumps(data))
    os.replace(temporary, pointer_path())


@dataclasses.dataclass(frozen=True)
class Active:
    """The version this host runs: its number, where it came from, its packages (None:
    the bundled one, already on sys.path)."""

    version: str
    source: str
    path: Path | None = None


def current() -> Active:
    """The version the pointer names, when it is usable; else the bundled one."""
    bundled = bundled_version()
    pointer = read_pointer()
    version = pointer.get("version") or bundled
    if version == bundled:
        return Active(bundled, BUNDLED)
    if not pointer.get("pinned") and not is_newer(version, bundled):
        return Active(bundled, BUNDLED)  # the image was rebuilt with a newer one
    packages = site_packages(version_dir(version))
    if not (packages / "yt_dlp" / "__init__.py").is_file():
        logger.warning("yt-dlp %s is not installed for this Python: running %s", version, bundled)
        return Active(bundled, BUNDLED)
    return Active(version, UPDATED, packages)


# What this process has loaded: the Active it activated or swapped to.
_loaded: Active | None = None


def activate() -> None:
    """At process start, before yt_dlp is imported: the current version first on sys.path."""
    global _loaded
    if not activation_enabled or _loaded is not None:
        return
    wanted = current()
    if "yt_dlp" in sys.modules and wanted.path is not None:
        # Too late to put it first: a worker swaps to it before its first task.
        logger.warning("yt-dlp was imported before the current one (%s) was put first", wanted)
        _loaded = Active(bundled_version(), BUNDLED)
        return
    _loaded = wanted
    if _loaded.path is not None:
        sys.path.insert(0, str(_loaded.path))
        logger.info("running yt-dlp %s from %s", _loaded.version, _loaded.path)


_versions_of_modules: dict[str, str] = {}  # by the yt_dlp package's __file__


def loaded_version() -> str:
    """The version of the yt_dlp this process imported, as pip names it: a nightly's own
    __version__ lacks the `.dev0` of its package."""
    import yt_dlp

    if yt_dlp.__file__ not in _versions_of_modules:
        folder = str(Path(yt_dlp.__file__).parent.parent)
        found = _installed_version([folder]) or canonical(yt_dlp.version.__version__)
        _versions_of_modules[yt_dlp.__file__] = found
    return _versions_of_modules[yt_dlp.__file__]


def ensure_current() -> str:
    """In a worker, before a task: swap to the current version when the pointer moved;
    returns the version the task will run."""
    wanted = current()
    if _loaded is not None and wanted != _loaded:
        _swap(wanted)
    return loaded_version()


def _reload_and_rebind(module) -> None:
    """Reload `module`, then point every name that a module of ours imported from it (a
    class, function or constant it defines, under any name) at the reloaded object of
    the same name."""
    before = {
        id(value): name
        for name, value in vars(module).items()
        if getattr(value, "__module__", None) == module.__name__
    }
    importlib.reload(module)
    after = vars(module)
    for other in list(sys.modules.values()):
        if other is module or getattr(other, "__name__", "").split(".")[0] not in OUR_PACKAGES:
            continue
        namespace = vars(other)
        for alias, value in list(namespace.items()):
            source = before.get(id(value))
            if source is not None and source in after:
                namespace[alias] = after[source]


def _swap(wanted: Active) -> None:
    global _loaded
    started = time.monotonic()
    if _loaded is not None and _loaded.path is not None:
        while str(_loaded.path) in sys.path:
            sys.path.remove(str(_loaded.path))
    if wanted.path is not None:
        sys.path.insert(0, str(wanted.path))
    for name in list(sys.modules):
        if name.split(".")[0] in SWAPPED_PACKAGES:
            del sys.modules[name]
    importlib.invalidate_caches()
    for name in RELOADED_MODULES:
        if name in sys.modules:
            _reload_and_rebind(sys.modules[name])
    from downloads_app import connection_guard, extractor_list, ytdlp

    connection_guard.install()
    extractor_list.install()
    _loaded = wanted
    try:
        ytdlp.warm_up()
    except Exception:
        logger.warning("yt-dlp warm-up failed; each task loads it itself", exc_info=True)
    logger.info(
        "this worker now runs yt-dlp %s (%s), swapped in %.2f s",
        loaded_version(), wanted.source, time.monotonic() - started,
    )  # fmt: skip
