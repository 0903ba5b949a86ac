"""The tests' stand-in for an S3 server: moto's standalone server (`moto_server`), a process
of its own on a loopback port the kernel chooses, reachable by the test's process and by
the stacks it starts. Only a stand-in: what STORAGE=s3 is meant for is a real server
(docs/production.md#files-in-a-bucket)."""

import contextlib
import functools
import re
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
LISTENING = re.compile(rb"Running on http://127\.0\.0\.1:(\d+)")
# moto accepts any credentials; these only have to be the same everywhere.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret-key",
    "AWS_S3_REGION_NAME": "us-east-1",
}


class MotoServer:
    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.process = None
        self.url = None

    def start(self, timeout=60.0) -> "MotoServer":
        with open(self.log_path, "wb") as log:
            # Port 0: the kernel's choice, which the server prints as it starts listening.
            self.process = subprocess.Popen(
                [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", "0"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = LISTENING.search(self.log_path.read_bytes())
            if found:
                self.url = f"http://127.0.0.1:{int(found.group(1))}"
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    @functools.cached_property
    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_S3_REGION_NAME"],
        )

    def create_bucket(self, name: str) -> "Bucket":
        self.client.create_bucket(Bucket=name)
        return Bucket(self, name)


class Bucket:
    """A bucket of the stand-in, and the settings (as environment variables) that use it."""

    def __init__(self, server: MotoServer, name: str):
        self.server = server
        self.name = name

    def env(self, location: str = "") -> dict[str, str]:
        return {
            "STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.name,
            "AWS_S3_ENDPOINT_URL": self.server.url,
            "AWS_S3_ADDRESSING_STYLE": "path",
            "AWS_LOCATION": location,
            **CREDENTIALS,
        }

    def settings(self, location: str = "") -> dict:
        """The same, as Django settings (for override_settings)."""
        env = self.env(location)
        return {**env, "AWS_S3_ADDRESSING_STYLE": "path", "AWS_S3_SIGNATURE_VERSION": "s3v4"}

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.server.client.get_paginator("list_objects_v2")
        return [
            entry["Key"]
            for page in pages.paginate(Bucket=self.name, Prefix=prefix)
            for entry in page.get("Contents", ())
        ]

    def read(self, key: str) -> bytes:
        return self.server.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, body: bytes) -> None:
        self.server.client.put_object(Bucket=self.name, Key=key, Body=body)

    def unfinished_uploads(self, prefix: str = "") -> list[str]:
        answer = self.server.client.list_multipart_uploads(Bucket=self.name, Prefix=prefix)
        return [upload["Key"] for upload in answer.get("Uploads", ())]
