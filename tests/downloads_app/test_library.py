"""library.py's placement (atomic, suffixed, never overwriting, linked or copied), and
`filename` / `library` through the task endpoints, run in this process (run_task)."""

import errno
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from downloads_app import checks, library, runner, task_work
from downloads_app.errors import ErrorCode
from downloads_app.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def library_dir(tmp_path, settings):
    settings.LIBRARY_DIR = tmp_path / "library"
    settings.LIBRARY_DIR.mkdir()
    return settings.LIBRARY_DIR


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "task" / "video.mp4"
    path.parent.mkdir()
    path.write_bytes(b"media" * 1000)
    return path


def test_a_file_on_the_same_file_system_is_hard_linked(library_dir, source):
    placement = library.place(source, "Uploader/2024-01-31 Title [id].mp4", [])
    assert placement.path == "Uploader/2024-01-31 Title [id].mp4"
    placed = library_dir / placement.path
    assert placed.stat().st_ino == source.stat().st_ino  # no copy, no more space
    source.unlink()  # the task's cleanup
    assert placed.read_bytes() == b"media" * 1000


def test_what_is_placed_is_as_readable_as_the_library_folder_not_the_umask(library_dir, source):
    source.chmod(0o600)  # the service's umask (077)
    library_dir.chmod(0o2750)  # setgid, group-readable: a media server of that group
    placement = library.place(source, "Uploader/Season/Title.mp4", [])
    for folder in ("Uploader", "Uploader/Season"):
        assert stat.S_IMODE((library_dir / folder).stat().st_mode) & 0o777 == 0o750
    assert stat.S_IMODE((library_dir / placement.path).stat().st_mode) == 0o640


def test_a_taken_name_gets_a_suffix_and_is_never_overwritten(library_dir, source, tmp_path):
    other = tmp_path / "other.mp4"
    other.write_bytes(b"someone else's")
    first = library.place(other, "a/Title.mp4", [])
    second = library.place(source, "a/Title.mp4", [])
    third = library.place(source, "a/Title.mp4", [])
    assert first.path == "a/Title.mp4"
    assert [second.path, third.path] == ["a/Title (2).mp4", "a/Title (3).mp4"]
    assert (library_dir / "a/Title.mp4").read_bytes() == b"someone else's"


def test_concurrent_placements_of_one_name_each_get_their_own(library_dir, tmp_path):
    sources = []
    for number in range(8):
        path = tmp_path / f"source-{number}.mp4"
        path.write_bytes(str(number).encode() * 10_000)
        sources.append(path)
    start, placed = threading.Barrier(len(sources)), {}

    def place(path):
        start.wait()
        placed[path] = library.place(path, "Same.mp4", []).path

    threads = [threading.Thread(target=place, args=(path,)) for path in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(placed.values())) == len(sources)  # no name given twice
    for path, relative in placed.items():
        assert (library_dir / relative).read_bytes() == path.read_bytes()  # none overwritten


def _shm_is_another_file_system() -> bool:
    shm = Path("/dev/shm")
    return shm.is_dir() and shm.stat().st_dev != Path(tempfile.gettempdir()).stat().st_dev


@pytest.mark.skipif(
    not _shm_is_another_file_system(),
    reason="needs /dev/shm (tmpfs) on another file system than the temporary directory",
)
def test_across_file_systems_the_file_is_copied_whole_beside_then_linked(source, settings):
    other_file_system = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        settings.LIBRARY_DIR = other_file_system
        placement = library.place(source, "u/Title.mp4", [])
        placed = other_file_system / placement.path
        assert placed.read_bytes() == source.read_bytes()
        assert placed.stat().st_ino != source.stat().st_ino
        assert [p.name for p in placed.parent.iterdir()] == ["Title.mp4"]  # no temporary left
        assert library.place(source, "u/Title.mp4", []).path == "u/Title (2).mp4"
    finally:
        shutil.rmtree(other_file_system)


def test_without_hard_links_a_copy_still_never_overwrites(library_dir, source, monkeypatch):
    def no_links(*args):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    assert library.place(source, "Title.mp4", []).path == "Title.mp4"
    assert library.place(source, "Title.mp4", []).path == "Title (2).mp4"
    assert (library_dir / "Title (2).mp4").read_bytes() == source.read_bytes()
    assert sorted(p.name for p in library_dir.iterdir()) == ["Title (2).mp4", "Title.mp4"]


def test_a_disk_full_in_the_middle_of_a_copy_leaves_no_half_file(library_dir, source, monkeypatch):
    def other_file_system(*args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    def half_then_full(reading, writing, length=0):
        writing.write(reading.read(100))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", other_file_system)
    monkeypatch.setattr(shutil, "copyfileobj", half_then_full)
    with pytest.raises(library.LibraryFailed, match="No space left on device"):
        library.place(source, "u/Title.mp4", [])
    assert list((library_dir / "u").iterdir()) == []  # neither the name nor a temporary


def test_extra_files_go_beside_it_under_the_names_media_servers_read(library_dir, source):
    subtitles = source.with_name("video.en-US.vtt")
    subtitles.write_text("WEBVTT\n")
    cover = source.with_name("thumbnail.jpg")
    cover.write_bytes(b"jpeg")
    extras = [
        (subtitles, {"name": "video.en-US.vtt", "size": 7, "kind": "subtitles"}),
        (cover, {"name": "thumbnail.jpg", "size": 4, "kind": "thumbnail"}),
    ]
    placement = library.place(source, "u/Title [id].mp4", extras)
    assert placement.extras == ["u/Title [id].en-US.vtt", "u/Title [id].jpg"]
    suffixed = library.place(source, "u/Title [id].mp4", extras)
    assert suffixed.extras == ["u/Title [id] (2).en-US.vtt", "u/Title [id] (2).jpg"]


def test_a_failure_to_place_leaves_nothing_and_says_why(library_dir, source):
    (library_dir / "u").write_text("a file where a folder must go")
    with pytest.raises(library.LibraryFailed) as failed:
        library.place(source, "u/Title.mp4", [])
    assert failed.value.code == ErrorCode.LIBRARY_FAILED
    assert "Not a directory" in str(failed.value)
    assert [p.name for p in library_dir.iterdir()] == ["u"]


# --- Through the endpoints -------------------------------------------------------------


@pytest.fixture
def library_user(make_key, client_for):
    _, secret = make_key("librarian", ["get_video", "get_audio", "get_info", "library"])
    return client_for(secret)


def test_a_task_that_cannot_place_its_file_fails_with_library_failed(
    run_task, library_user, library_dir, progressive_url, settings
):
    settings.LIBRARY_TEMPLATE = "blocked/%(title)s"
    (library_dir / "blocked").write_text("a file where a folder must go")
    task, status = run_task("/get_audio", {"url": progressive_url, "library": True}, library_user)
    assert status["status"] == "error" and status["error_code"] == "library_failed"
    assert status["library_path"] is None


def test_library_needs_the_permission_and_a_library_folder(
    user_client, library_user, library_dir, progressive_url, settings
):
    body = {"url": progressive_url, "library": True}
    refused = user_client.post("/get_video", body, format="json")
    assert refused.status_code == 403
    assert "library" in refused.json()["error"]
    settings.LIBRARY_DIR = None
    unset = library_user.post("/get_video", body, format="json")
    assert unset.status_code == 400 and "LIBRARY_DIR" in str(unset.json())
    info = library_user.post("/get_info", body, format="json")
    assert info.status_code == 400 and "library" in str(info.json())
    assert not Task.objects.exists()


def test_a_bad_filename_is_a_400_naming_the_problem(user_client, progressive_url):
    response = user_client.post(
        "/get_video", {"url": progressive_url, "filename": "%(formats)s"}, format="json"
    )
    assert response.status_code == 400
    assert "names the field 'formats'" in str(response.json())


# --- The start-up check ----------------------------------------------------------------


def test_a_bad_library_template_is_a_system_check_error(settings):
    settings.LIBRARY_TEMPLATE = "%(uploader)s/%(formats)s"
    (error,) = checks.library_is_usable(None)
    assert error.id == "downloads_app.E005"
    assert error.msg.startswith("LIBRARY_TEMPLATE names the field 'formats'")


def test_a_library_overlapping_the_downloads_or_missing_is_a_system_check_error(settings, tmp_path):
    for overlapping in (settings.DOWNLOAD_DIR / "library", settings.DOWNLOAD_DIR.parent):
        settings.LIBRARY_DIR = overlapping
        assert [error.id for error in checks.library_is_usable(None)] == ["downloads_app.E006"]
    settings.LIBRARY_DIR = tmp_path / "missing"
    assert [error.id for error in checks.library_is_usable(None)] == ["downloads_app.E007"]
    settings.LIBRARY_DIR = tmp_path
    assert checks.library_is_usable(None) == []


def test_a_run_that_lost_to_a_cancel_takes_back_what_it_placed(library_dir, source, user):
    placement = library.place(source, "u/Title.mp4", [])
    task = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://e.com/v", status="error",
        cancelled=True, library=True,
    )  # fmt: skip
    outcome = task_work.Outcome(
        file_name="video.mp4", library_path=placement.path, library_files=placement.files
    )
    runner._discard_cancelled_result(task, outcome)
    assert not (library_dir / placement.path).exists()
