"""The library folder (LIBRARY_DIR): where a finished task's file is also placed, named by
LIBRARY_TEMPLATE (naming.py), with its subtitles and cover beside it, for a media server
(Jellyfin, Plex, Kodi) to read. Cleanup never touches it: it removes task directories
under DOWNLOAD_DIR, and the library's file is a name of its own (a hard link or a copy).

Placement is atomic and never overwrites (place_file):
- on the same file system the file is hard-linked to its name: no copy, no more space,
  and os.link fails when the name exists, so it is an exclusive create;
- across file systems it is copied to a hidden temporary name beside its destination
  (`.ytdlphost-<random>.part`, fsynced), then that is linked to the name the same way
  and the temporary removed.
A name in the library is so always a whole file, and of two workers placing the same
name at once one gets it and the other the next suffix (` (2)`, ` (3)`, ...). A worker
killed in the middle of a copy leaves at most a hidden temporary. What is placed takes
LIBRARY_DIR's own permissions, for a media server running as another user.
"""

import errno
import logging
import os
import re
import secrets
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from downloads_app import naming
from downloads_app.errors import DownloadFailed, ErrorCode

logger = logging.getLogger("ytdlphost.library")

# A name is tried with these suffixes before placement gives up: a template whose names
# all collide (a constant name) fills a folder slowly, never endlessly.
MAX_SUFFIX = 1000


class LibraryFailed(DownloadFailed):
    """The file could not be placed in the library (full, not writable, gone)."""

    def __init__(self, reason: str):
        super().__init__(
            f"The file could not be placed in the library folder: {reason}. The server's "
            "operator must fix LIBRARY_DIR; retry the task afterwards.",
            ErrorCode.LIBRARY_FAILED,
        )


@dataclass
class Placement:
    """What was placed: the file and its extra files, relative to LIBRARY_DIR."""

    path: str
    extras: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [self.path, *self.extras]


def remove(files: list[str]) -> None:
    """Remove these placed files (relative to LIBRARY_DIR), as a failed or discarded
    placement must leave nothing."""
    for relative in files:
        (settings.LIBRARY_DIR / relative).unlink(missing_ok=True)


def template() -> naming.Template:
    """LIBRARY_TEMPLATE, parsed (a system check refuses a bad one at start-up)."""
    return naming.parse(settings.LIBRARY_TEMPLATE, folders=True)


def place(source: Path, relative: str, extras: list[tuple[Path, dict]]) -> Placement:
    """Place `source` in the library as `relative` (rendered by LIBRARY_TEMPLATE), or as
    that name with a suffix when it is taken, and its extra files beside it (each a path
    and its Task.extra_files entry) under the names media servers read; LibraryFailed
    when the file system refuses, and then nothing of it is left in the library."""
    root = settings.LIBRARY_DIR
    if root is None:  # set where the task was asked for, not on this worker
        raise LibraryFailed("LIBRARY_DIR is not set on the worker that ran the task")
    destination = root / relative
    placement = None
    try:
        mode = stat.S_IMODE(root.stat().st_mode)
        _make_folders(root, destination.parent, mode)
        final = place_file(source, destination, mode)
        placement = Placement(str(final.relative_to(root)))
        for path, extra in extras:
            name = extra_name(final, extra)
            try:
                _link_or_copy(path, final.parent / name, mode)
            except FileExistsError:  # a file of another media, not ours to replace
                logger.warning("library: %s exists already; not replaced", final.parent / name)
                continue
            placement.extras.append(str((final.parent / name).relative_to(root)))
    except OSError as exc:
        if placement is not None:
            remove(placement.files)
        logger.error("could not place %s in the library as %s: %s", source, relative, exc)
        raise LibraryFailed(exc.strerror or str(exc)) from None
    return placement


def extra_name(final: Path, extra: dict) -> str:
    """The name of an extra file beside the library's `final` file, as media servers look
    for it: subtitles as "<name>.<lang>.<ext>" (Jellyfin's external files; the language
    read from the task's own name for them, as "video.en.vtt"), a thumbnail as
    "<name>.<ext>" (the first image name Jellyfin's local image provider tries for a
    video, before "<name>-poster")."""
    parts = extra["name"].split(".")
    extension = naming.safe_extension(parts[-1]) if len(parts) > 1 else ""
    if extra.get("kind") == "thumbnail":
        return f"{final.stem}.{extension}"
    # A language tag as yt-dlp names subtitles ("en", "en-US", "pt-BR"), nothing else.
    language = re.sub(r"[^A-Za-z0-9-]", "", parts[-2])[:20] if len(parts) > 2 else ""
    return ".".join(part for part in (final.stem, language, extension) if part)


def _make_folders(root: Path, folder: Path, mode: int) -> None:
    """The folders from `root` down to `folder`, each new one with `mode`: LIBRARY_DIR's
    own permissions, not the service's umask (077: a media server running as another
    user could read nothing)."""
    for level in reversed([folder, *folder.parents]):
        if level == root or root not in level.parents:
            continue
        try:
            level.mkdir()
        except FileExistsError:
            continue
        os.chmod(level, mode)


def place_file(source: Path, destination: Path, mode: int) -> Path:
    """Link (or copy) `source` to `destination`, or to the first free name with a suffix
    (" (2)" before the extension); the name it got. Readable as LIBRARY_DIR is (`mode`,
    without execute)."""
    for number in range(1, MAX_SUFFIX + 1):
        candidate = destination if number == 1 else _suffixed(destination, number)
        try:
            _link_or_copy(source, candidate, mode)
        except FileExistsError:
            continue
        return candidate
    raise OSError(errno.EEXIST, f"{MAX_SUFFIX} files of this name exist already")


def _suffixed(destination: Path, number: int) -> Path:
    # Names are at most naming.MAX_NAME_BYTES: room is left for this.
    return destination.with_name(f"{destination.stem} ({number}){destination.suffix}")


# os.link's failures that say "no hard link here" rather than "no": another file system
# (EXDEV), or one without hard links (EPERM, ENOTSUP: some SMB and FUSE mounts).
NO_HARD_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


def _link_or_copy(source: Path, destination: Path, mode: int) -> None:
    """An exclusive create of `destination` holding `source`'s content, its permissions
    `mode` without execute: FileExistsError when the name is taken, whoever took it.

    A hard link shares the task's file's permissions: that file becomes as readable as
    the library's, which opens nothing, as its task's folder (0700) still closes it."""
    try:
        os.link(source, destination)
        os.chmod(destination, mode & 0o666)
        return
    except OSError as exc:
        if exc.errno not in NO_HARD_LINK:
            raise
    temporary = destination.with_name(f".ytdlphost-{secrets.token_hex(8)}.part")
    try:
        with open(source, "rb") as reading, open(temporary, "xb") as writing:
            shutil.copyfileobj(reading, writing, 1024 * 1024)
            writing.flush()
            os.fsync(writing.fileno())
        shutil.copystat(source, temporary)
        os.chmod(temporary, mode & 0o666)
        try:
            os.link(temporary, destination)
        except OSError as exc:
            if exc.errno not in NO_HARD_LINK:
                raise
            # No hard links at all: the name is taken by an exclusive create (empty, for
            # an instant), then the whole copy renamed over it.
            with open(destination, "xb"):
                pass
            os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
