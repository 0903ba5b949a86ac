"""Wheels of yt-dlp under other version numbers, made from the installed package, for the
offline tests of runtime updates (downloads_app/ytdlp_updates.py).

    build_wheel(folder, "2026.11.1")                      the installed yt-dlp, renumbered
    build_wheel(folder, "2026.11.2.1.dev0", broken=True)  ... whose generic extractor raises

Pointing pip at `folder` (PIP_FIND_LINKS=folder, PIP_NO_INDEX=1) then offers those versions
as a package index would; yt-dlp's dependencies are the installed ones.

This module deliberately has no Django (or pytest) imports.
"""

import base64
import hashlib
import importlib.metadata
import re
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_version

# Replaces the generic extractor's extraction in a broken wheel: every URL that no other
# extractor takes (a direct media file, most pages) fails as a bug in yt-dlp would.
BROKEN_GENERIC = """

def _broken_real_extract(self, url):
    raise RuntimeError("the generic extractor is broken (a test wheel)")


GenericIE._real_extract = _broken_real_extract
"""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(folder: Path, version: str, *, broken: bool = False) -> Path:
    """A wheel of the installed yt-dlp that says it is `version`, in `folder`."""
    distribution = importlib.metadata.distribution("yt-dlp")
    installed = distribution.version
    site_packages = Path(distribution.locate_file(""))
    old_info = f"yt_dlp-{installed}.dist-info"
    new_info = f"yt_dlp-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"yt_dlp-{canonicalize_version(version)}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:

        def add(name: str, data: bytes) -> None:
            archive.writestr(name, data)
            records.append(_record_line(name, data))

        for path in sorted((site_packages / "yt_dlp").rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            name = path.relative_to(site_packages).as_posix()
            data = path.read_bytes()
            if name == "yt_dlp/version.py":
                data = re.sub(rb"'%s'" % installed.encode(), f"'{version}'".encode(), data)
            elif broken and name == "yt_dlp/extractor/generic.py":
                data += BROKEN_GENERIC.encode()
            add(name, data)
        for path in sorted((site_packages / old_info).rglob("*")):
            name = path.relative_to(site_packages / old_info).as_posix()
            if path.is_dir() or name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue
            data = path.read_bytes()
            if name == "METADATA":
                data = re.sub(rb"(?m)^Version: .*$", f"Version: {version}".encode(), data)
            add(f"{new_info}/{name}", data)
        records.append(f"{new_info}/RECORD,,")
        archive.writestr(f"{new_info}/RECORD", "\n".join(records) + "\n")
    return wheel
