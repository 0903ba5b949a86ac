"""The memory a task's upload to the bucket takes (STORAGE=s3: storage.publish, as a task's
child runs it), against the tests' moto server on loopback.

Run from the repository root, one configuration per process (peak RSS only grows):

    .venv/bin/python bench/s3_upload_memory.py                          # 200 MB, 16M x 4
    S3_MULTIPART_CHUNKSIZE=64M .venv/bin/python bench/s3_upload_memory.py
    S3_MULTIPART_CHUNKSIZE=5M S3_UPLOAD_CONCURRENCY=1 .venv/bin/python bench/s3_upload_memory.py
    .venv/bin/python bench/s3_upload_memory.py --file-object   # an open file, as save() sends

Prints the process's peak RSS before the upload (boto3 and django-storages imported and a
storage made, as in a warmed worker's child) and after it. moto keeps the objects in its
own process, which is not counted.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.s3 import MotoServer  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument(
        "--file-object",
        action="store_true",
        help="upload an open file instead, as django-storages' save() does (for comparison)",
    )
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="s3-upload-memory-"))
    server = MotoServer(work / "moto.log").start()
    try:
        bucket = server.create_bucket("memory")
        os.environ.update({**bucket.env(), "DATA_DIR": str(work / "data")})
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ytdlphost.settings")
        from ytdlphost import state

        state.prepare()
        import django

        django.setup()
        from django.conf import settings

        from downloads_app import storage

        folder = work / "task"
        folder.mkdir()
        with open(folder / "video.mp4", "wb") as handle:
            for _ in range(arguments.size_mb):
                handle.write(os.urandom(1024 * 1024))
        bucket_storage = storage.new_storage()
        before = peak_mib()
        started = time.monotonic()
        if arguments.file_object:
            with open(folder / "video.mp4", "rb") as handle:
                bucket_storage.bucket.Object("task/video.mp4").upload_fileobj(
                    handle, Config=bucket_storage.transfer_config
                )
        else:
            storage.publish("task", folder)
        took = time.monotonic() - started
        after = peak_mib()
        print(
            f"{arguments.size_mb} MB in parts of {settings.S3_MULTIPART_CHUNKSIZE // 2**20} MiB, "
            f"{settings.S3_UPLOAD_CONCURRENCY} at once: peak RSS {before:.0f} MiB before, "
            f"{after:.0f} MiB after (+{after - before:.0f} MiB), {took:.1f} s; "
            f"load {os.getloadavg()[0]:.1f}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
