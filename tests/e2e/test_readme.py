"""The README and the manual in docs/ run as written: every shell and Python block, pasted
as it stands, against the real stack.

Only what cannot be the same here is substituted, each string exactly as the document has
it: the address, the secrets, the YouTube URL (the local media instead), the receiver's
port and the yt-dlp-host checkout. A block that no test runs fails
`test_every_shell_and_python_block_is_run`: a new example comes with its test.
"""

import json
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import requests

from tests.support.processes import wait_until
from tests.support.stack import REPO, LiveStack, free_port

pytestmark = pytest.mark.e2e

README_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
README_ADDRESS = "localhost:5000"
README_KEY = "paste-the-admin-secret-here"

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# What in a block says which test runs it.
BLOCK_RUNNERS = {
    # ./run.sh and ./test.sh: CI runs ./test.sh itself (.ci/run); what run.sh starts,
    # scripts/serve.sh, is run and stopped by tests/deploy/test_serve.py.
    "./run.sh      # set up": "CI and tests/deploy/test_serve.py",
    "KEY=paste-the-admin-secret-here": "test_the_quick_start_shell_example_downloads_the_video",
    "from yt_dlp_host_api import api": "test_the_quick_start_python_example_saves_the_video",
    "from standardwebhooks.webhooks import Webhook": "test_the_webhook_receiver_verifies_events",
    "manage.py import_legacy": "test_the_switching_example_imports_keys_tasks_and_files",
}


def code_blocks(path) -> list[tuple[str, str]]:
    """(language, code) of each fenced sh or python block of a Markdown file."""
    return [
        (language, code)
        for language, code in re.findall(r"```(\w*)\n(.*?)```", path.read_text(), re.DOTALL)
        if language in ("sh", "python")
    ]


def the_block(marker: str) -> str:
    [code] = [code for path in DOCUMENTS for _, code in code_blocks(path) if marker in code]
    return code


def test_every_shell_and_python_block_is_run():
    for path in DOCUMENTS:
        for language, code in code_blocks(path):
            runners = [marker for marker in BLOCK_RUNNERS if marker in code]
            assert len(runners) == 1, f"{path.name}: no test runs this {language} block:\n{code}"
    for marker in BLOCK_RUNNERS:
        the_block(marker)  # exactly one block each


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("readme")) as stack:
        yield stack


def substituted(code: str, replacements: dict[str, str]) -> str:
    for document_text, here in replacements.items():
        assert document_text in code
        code = code.replace(document_text, here)
    return code


@pytest.fixture
def localize(stack, progressive_url):
    def substitute(code: str, url: str = "") -> str:
        return substituted(
            code,
            {
                README_URL: url or progressive_url,
                README_ADDRESS: f"127.0.0.1:{stack.port}",
                README_KEY: stack.admin_key,
            },
        )

    return substitute


def test_the_quick_start_shell_example_downloads_the_video(localize, tmp_path):
    example = the_block("KEY=paste-the-admin-secret-here")
    assert "?wait=" in example and "sleep" not in example  # one long poll, not a loop
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", localize(example)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "completed"
    downloads = [path for path in tmp_path.iterdir() if path.suffix in (".webm", ".mp4")]
    assert len(downloads) == 1 and downloads[0].stat().st_size > 0


def test_the_quick_start_python_example_saves_the_video(localize, tmp_path):
    example = the_block("from yt_dlp_host_api import api")
    done = subprocess.run(
        [sys.executable, "-c", localize(example)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "video.mp4").stat().st_size > 0
    assert "title" in done.stdout and "qualities" in done.stdout


def test_the_quick_start_shell_example_prints_the_error_of_a_failed_task(
    localize, media_server, tmp_path
):
    # It printed a KeyError traceback ("file"), not why the task failed.
    example = localize(
        the_block("KEY=paste-the-admin-secret-here"), media_server.url("missing.mp4")
    )
    done = subprocess.run(
        ["bash", "-uo", "pipefail", "-c", example],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip() == "The URL answered 404 Not Found", done.stderr
    assert not [path for path in tmp_path.iterdir() if path.suffix in (".webm", ".mp4")]


def test_the_quick_start_python_example_prints_the_error_of_a_failed_task(
    localize, media_server, tmp_path
):
    # It ended in the client's traceback.
    example = localize(
        the_block("from yt_dlp_host_api import api"), media_server.url("missing.mp4")
    )
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert done.stderr.strip() == "Task failed: The URL answered 404 Not Found", done.stderr


def accepting(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_webhook_receiver_verifies_events(stack, progressive_url, tmp_path):
    created = requests.post(
        f"{stack.base_url}/create_key",
        json={"name": "readme-receiver", "permissions": ["get_info"]},
        headers={"X-API-Key": stack.admin_key},
        timeout=10,
    ).json()
    port = free_port()
    receiver_code = substituted(
        the_block("from standardwebhooks.webhooks import Webhook"),
        {
            '"whsec_..."': repr(created["webhook_secret"]),
            '("0.0.0.0", 8000)': f'("127.0.0.1", {port})',
        },
    )
    output = tmp_path / "receiver.out"
    with output.open("w") as out:
        receiver = subprocess.Popen(
            [sys.executable, "-u", "-c", receiver_code], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: accepting(port), 30, "the receiver listening")
        unsigned = {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,A"}
        forged = requests.post(
            f"http://127.0.0.1:{port}/", json={"type": "task.completed"}, headers=unsigned,
            timeout=10,
        )  # fmt: skip
        assert forged.status_code == 400
        task_id = stack.submit(
            created["key"], "/get_info",
            {"url": progressive_url, "webhook_url": f"http://127.0.0.1:{port}/"},
        )  # fmt: skip
        wait_until(
            lambda: f"task.completed {task_id}" in output.read_text(),
            120,
            "the receiver printing the verified event",
        )
    finally:
        receiver.kill()
        receiver.wait()


def test_the_switching_example_imports_keys_tasks_and_files(stack, tmp_path):
    """docs/switching.md: yt-dlp-host's JSON files and downloads, imported into a running
    service; the old secret, the old task's /status and its file then work here."""
    old = tmp_path / "yt-dlp-host"
    (old / "jsons").mkdir(parents=True)
    (old / "downloads" / "oldtask1").mkdir(parents=True)
    (old / "downloads" / "oldtask1" / "audio.mp3").write_bytes(b"ID3 an old download")
    secret = "carol-old-secret-0123456789abcdef"
    (old / "jsons" / "api_keys.json").write_text(
        json.dumps({"carol": {"key": secret, "permissions": ["download"]}})
    )
    finished = datetime.now(UTC).replace(tzinfo=None).isoformat()  # yt-dlp-host's zone-less time
    (old / "jsons" / "tasks.json").write_text(json.dumps({"oldtask1": {
        "key_name": "carol", "status": "completed", "task_type": "get_audio",
        "url": "https://example.com/watch?v=1", "audio_format": "bestaudio",
        "completed_time": finished, "file": "/files/oldtask1/audio.mp3",
    }}))  # fmt: skip
    example = substituted(the_block("manage.py import_legacy"), {"/opt/yt-dlp-host": str(old)})
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example],
        cwd=REPO, env=stack.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    headers = {"X-API-Key": secret}
    status = requests.get(f"{stack.base_url}/status/oldtask1", headers=headers, timeout=10)
    assert status.json()["status"] == "completed", status.text
    served = requests.get(f"{stack.base_url}{status.json()['file']}", timeout=10)
    assert served.content == b"ID3 an old download"
