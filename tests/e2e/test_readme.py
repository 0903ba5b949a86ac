"""README's quick start runs as written: its shell and Python examples, pasted in order,
against the real stack.

Only what cannot be the same here is substituted, each string exactly as README has it:
the address, the admin secret and the YouTube URL (the local media instead).
"""

import json
import re
import subprocess
import sys

import pytest

from tests.support.stack import REPO, LiveStack

pytestmark = pytest.mark.e2e

README_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
README_ADDRESS = "localhost:5000"
README_KEY = "paste-the-admin-secret-here"


def quick_start_examples() -> dict[str, list[str]]:
    """The quick start's code blocks by language: sh (without the first, ./run.sh) and
    python."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for language, code in re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL):
        blocks.setdefault(language, []).append(code)
    blocks["sh"] = blocks["sh"][1:]
    return blocks


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("readme")) as stack:
        yield stack


@pytest.fixture
def localize(stack, progressive_url):
    def substitute(code: str, url: str = "") -> str:
        replacements = {
            README_URL: url or progressive_url,
            README_ADDRESS: f"127.0.0.1:{stack.port}",
            README_KEY: stack.admin_key,
        }
        for readme_text, here in replacements.items():
            assert readme_text in code
            code = code.replace(readme_text, here)
        return code

    return substitute


def test_the_quick_start_shell_example_downloads_the_video(localize, tmp_path):
    [example] = quick_start_examples()["sh"]
    assert "?wait=" in example and "sleep" not in example  # one long poll, not a loop
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", localize(example)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "completed"
    downloads = [path for path in tmp_path.iterdir() if path.suffix in (".webm", ".mp4")]
    assert len(downloads) == 1 and downloads[0].stat().st_size > 0


def test_the_quick_start_python_example_saves_the_video_and_prints_the_info(localize, tmp_path):
    [example] = quick_start_examples()["python"]
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
    [example] = quick_start_examples()["sh"]
    example = localize(example, media_server.url("missing.mp4"))
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
    [example] = quick_start_examples()["python"]
    example = localize(example, media_server.url("missing.mp4"))
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert done.stderr.strip() == "Task failed: The URL answered 404 Not Found", done.stderr
