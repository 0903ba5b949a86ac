"""The limits a task runs under, each said once with the setting that sets it: its time,
extraction and stall limits, which the supervising worker enforces (supervisor.py) and
recovery applies to a task past its time (maintenance.py); its size and disk (Limits),
which yt-dlp's progress hook, ffmpeg's -fs and the supervisor's disk check keep."""

import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from downloads_app.errors import DownloadFailed, ErrorCode


def time_limit_message() -> str:
    return f"Task exceeded the time limit of {settings.TASK_TIME_LIMIT} seconds"


def extraction_timeout_message() -> str:
    return (
        "Metadata extraction did not finish within the extraction deadline "
        f"(EXTRACTION_TIMEOUT, {settings.EXTRACTION_TIMEOUT:g} seconds)"
    )


def stall_message() -> str:
    return (
        f"The download stalled: no data arrived for {settings.STALL_TIMEOUT:g} seconds "
        "(STALL_TIMEOUT)"
    )


@dataclass
class Limits:
    """The size and disk limits of a task, and their messages.

    yt-dlp's progress hook checks the size of what it downloads itself. What ffmpeg writes
    on its own (live recordings, clips) reports no progress: ffmpeg's -fs bounds it by the
    smaller of MAX_FILESIZE and the free space above MIN_FREE_DISK. The supervising worker
    (supervisor.py) checks the free disk every second while the task runs, and its time.
    """

    max_filesize: int = 0  # bytes; 0: no limit
    min_free_disk: int = 0  # bytes
    disk: Path | None = None
    # What the task's byte quotas leave it when it starts (quotas.QuotaRoom); None: none.
    quota: object = None

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(settings.MAX_FILESIZE, settings.MIN_FREE_DISK, settings.DOWNLOAD_DIR)

    def too_large_message(self) -> str:
        return (
            f"The file is larger than the server's limit (MAX_FILESIZE, {self.max_filesize} bytes)"
        )

    def low_disk_message(self) -> str:
        return (
            "Not enough free disk space on the server for this download "
            f"(MIN_FREE_DISK is {self.min_free_disk} bytes)"
        )

    def too_large(self) -> DownloadFailed:
        return DownloadFailed(self.too_large_message(), ErrorCode.TOO_LARGE)

    def low_disk(self) -> DownloadFailed:
        return DownloadFailed(self.low_disk_message(), ErrorCode.NO_SPACE)

    def disk_room(self) -> int | None:
        """Bytes that may still be written before the disk is below MIN_FREE_DISK; None
        when the disk is not limited."""
        if self.disk is None or not self.min_free_disk:
            return None
        return shutil.disk_usage(self.disk).free - self.min_free_disk

    def check_size(self, size) -> None:
        if self.max_filesize and size and size > self.max_filesize:
            raise self.too_large()

    def check_quota(self, expected_size) -> None:
        """Refuse a download whose known size its key's byte quota (or the server's)
        cannot hold, before a byte of it is written."""
        if self.quota is not None and expected_size and expected_size > self.quota.room:
            raise self.quota.refusal(expected_size)

    def check_disk(self, expected_size=0) -> None:
        room = self.disk_room()
        if room is not None and room - (expected_size or 0) < 0:
            raise self.low_disk()

    def output_cap(self) -> tuple[int, DownloadFailed] | None:
        """The most ffmpeg may write now, and the failure when it gets there."""
        caps = []
        if self.max_filesize:
            caps.append((self.max_filesize, self.too_large()))
        room = self.disk_room()
        if room is not None:
            caps.append((max(room, 1), self.low_disk()))
        return min(caps, key=lambda cap: cap[0], default=None)

    def progress_hook(self, status: dict) -> None:
        self.check_size(status.get("total_bytes") or status.get("downloaded_bytes"))
