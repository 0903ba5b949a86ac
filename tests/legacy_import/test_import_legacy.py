import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from downloads_app import lifecycle
from downloads_app.errors import strip_ansi
from downloads_app.models import Task
from keys_app.models import PERMISSIONS, YTDLP_HOST_PERMISSIONS, APIKey
from legacy_import.json_files import line_of
from legacy_import.keys import map_permissions
from legacy_import.tasks import FILE_NOT_FOUND, file_name_from_url

pytestmark = pytest.mark.django_db

ALICE_SECRET = "alice-secret-0123456789abcdefghij"
BOB_SECRET = "bob-secret-0123456789abcdefghijkl"
CAROL_SECRET = "carol-secret-0123456789abcdefghi"


@pytest.fixture(autouse=True)
def download_dir(settings, tmp_path):
    settings.DOWNLOAD_DIR = tmp_path / "downloads"
    settings.DOWNLOAD_DIR.mkdir()
    return settings.DOWNLOAD_DIR


@pytest.fixture
def write(tmp_path):
    """write(name, content) -> the path of a file holding content (JSON unless a str)."""

    def make(name, content):
        path = tmp_path / name
        text = content if isinstance(content, str) else json.dumps(content, indent=4)
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.fixture
def legacy_keys(write):
    return write(
        "api_keys.json",
        {
            "alice": {"key": ALICE_SECRET, "permissions": ["get_video", "get_info"]},
            "bob": {"name": "bob", "key": BOB_SECRET, "permissions": ["create_key", "get_keys"]},
        },
    )


@pytest.fixture
def import_legacy(capsys):
    """import_legacy(*args) -> (stdout, stderr) of the command."""

    def run(*args):
        call_command("import_legacy", *map(str, args))
        output = capsys.readouterr()
        return output.out, output.err

    return run


@pytest.fixture
def enqueued(monkeypatch):
    """The ids passed to lifecycle.enqueue, which is not run."""
    task_ids = []
    monkeypatch.setattr(lifecycle, "enqueue", task_ids.append)
    return task_ids


def legacy_task(**fields):
    return {
        "key_name": "alice",
        "status": "error",
        "task_type": "get_video",
        "url": "https://example.com/watch?v=1",
        "video_format": "bestvideo",
        "audio_format": "bestaudio",
        **fields,
    }


def test_imported_keys_keep_working_with_their_old_secrets(legacy_keys, import_legacy, client_for):
    out, _ = import_legacy("--keys", legacy_keys)
    assert "keys: 2 created, 0 unchanged, 0 updated" in out
    granted = client_for(ALICE_SECRET).post(
        "/check_permissions", {"permissions": ["get_video", "get_info"]}, format="json"
    )
    assert granted.status_code == 200
    missing = client_for(ALICE_SECRET).post(
        "/check_permissions", {"permissions": ["create_key"]}, format="json"
    )
    assert missing.status_code == 403
    assert APIKey.objects.get_by_secret(BOB_SECRET).name == "bob"
    assert APIKey.objects.get(name="bob").secret == BOB_SECRET  # /get_key can show it


def test_the_old_permission_names_admin_and_download_are_mapped(write, import_legacy):
    path = write(
        "api_keys.json",
        {"old": {"key": ALICE_SECRET, "permissions": ["admin", "download", "get_info"]}},
    )
    import_legacy("--keys", path)
    # Every permission yt-dlp-host had; not this service's own (subscribe).
    assert APIKey.objects.get(name="old").permissions == list(YTDLP_HOST_PERMISSIONS)


def test_permissions_map_to_this_service_in_its_order_without_repeats():
    assert map_permissions(["get_info", "download", "get_video", "nonsense"]) == (
        ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"],
        ["nonsense"],
    )


def test_a_second_run_creates_nothing_and_reports_unchanged(legacy_keys, import_legacy):
    import_legacy("--keys", legacy_keys)
    count = APIKey.objects.count()
    out, _ = import_legacy("--keys", legacy_keys)
    assert "keys: 0 created, 2 unchanged, 0 updated" in out
    assert APIKey.objects.count() == count


def test_the_output_never_shows_a_secret(legacy_keys, import_legacy):
    out, err = import_legacy("--keys", legacy_keys)
    assert ALICE_SECRET not in out + err
    assert BOB_SECRET not in out + err


def test_malformed_json_is_reported_with_its_line_and_imports_nothing(write, import_legacy):
    text = (
        "{\n"
        f'  "alice": {{"key": "{ALICE_SECRET}", "permissions": []}},\n'
        f'  "bob": {{"key": "{BOB_SECRET}", "permissions": []}},\n'
        '  "carol": {"key": }\n'
        "}"
    )
    with pytest.raises(CommandError, match=r"api_keys.json line 4 column 20: Expecting value"):
        import_legacy("--keys", write("api_keys.json", text))
    assert not APIKey.objects.filter(name__in=["alice", "bob"]).exists()


def test_a_bad_third_entry_keeps_the_first_two_out(write, import_legacy):
    path = write(
        "api_keys.json",
        {
            "alice": {"key": ALICE_SECRET, "permissions": ["get_info"]},
            "bob": {"key": BOB_SECRET, "permissions": ["get_info"]},
            "carol": {"permissions": ["get_info"]},
        },
    )
    with pytest.raises(CommandError) as failure:
        import_legacy("--keys", path)
    message = str(failure.value)
    assert 'api_keys.json line 14: key "carol": has no "key"' in message
    assert "Nothing was imported" in message
    assert not APIKey.objects.filter(name__in=["alice", "bob", "carol"]).exists()


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (["a list"], "must be an object"),
        ({"key": "short", "permissions": []}, "shorter than 16 characters"),
        ({"key": "", "permissions": []}, "shorter than 16 characters"),
        ({"key": 12345678901234567890, "permissions": []}, '"key" must be a string'),
        ({"key": CAROL_SECRET, "permissions": "get_info"}, '"permissions" must be a list'),
        ({"key": CAROL_SECRET, "permissions": [1]}, '"permissions" must be a list'),
        ({"key": CAROL_SECRET, "permissions": [], "name": "dave"}, '"name" field says "dave"'),
        ({"key": ALICE_SECRET, "permissions": []}, 'same secret as the key "alice"'),
    ],
)
def test_a_wrong_entry_is_named_and_imports_nothing(write, import_legacy, entry, problem):
    path = write(
        "api_keys.json",
        {"alice": {"key": ALICE_SECRET, "permissions": []}, "carol": entry},
    )
    with pytest.raises(CommandError, match=r'key "carol": .*' + problem.replace("(", r"\(")):
        import_legacy("--keys", path)
    assert not APIKey.objects.filter(name__in=["alice", "carol"]).exists()


def test_a_name_the_api_would_refuse_is_reported(write, import_legacy):
    path = write("api_keys.json", {"my key": {"key": CAROL_SECRET, "permissions": []}})
    with pytest.raises(
        CommandError, match=r'api_keys.json line 2: key "my key": Use letters, digits'
    ):
        import_legacy("--keys", path)


def test_a_name_given_twice_is_reported(write, import_legacy):
    text = (
        "{\n"
        f' "alice": {{"key": "{ALICE_SECRET}", "permissions": []}},\n'
        f' "alice": {{"key": "{BOB_SECRET}", "permissions": []}}\n'
        "}"
    )
    with pytest.raises(CommandError, match=r'api_keys.json line 3: "alice" appears twice'):
        import_legacy("--keys", write("api_keys.json", text))
    assert not APIKey.objects.filter(name="alice").exists()


def test_an_unknown_permission_fails_the_whole_import(write, import_legacy):
    path = write(
        "api_keys.json",
        {
            "alice": {"key": ALICE_SECRET, "permissions": ["get_info"]},
            "bob": {"key": BOB_SECRET, "permissions": ["get_info", "fly"]},
        },
    )
    with pytest.raises(CommandError, match=r'key "bob": unknown permission "fly"'):
        import_legacy("--keys", path)
    assert not APIKey.objects.filter(name__in=["alice", "bob"]).exists()


def test_drop_unknown_permissions_warns_and_imports_without_them(write, import_legacy):
    path = write("api_keys.json", {"bob": {"key": BOB_SECRET, "permissions": ["get_info", "fly"]}})
    _, err = import_legacy("--keys", path, "--drop-unknown-permissions")
    assert 'key "bob": dropped unknown permission fly' in err
    assert APIKey.objects.get(name="bob").permissions == ["get_info"]


def test_a_name_taken_with_another_secret_fails_without_update(
    legacy_keys, import_legacy, make_key
):
    _, generated_secret = make_key("alice", ["get_video", "get_info"])
    with pytest.raises(CommandError, match=r'key "alice" already exists here with other secret'):
        import_legacy("--keys", legacy_keys)
    assert APIKey.objects.get_by_secret(generated_secret).name == "alice"
    assert not APIKey.objects.filter(name="bob").exists()


def test_a_name_taken_with_other_permissions_fails_without_update(
    legacy_keys, import_legacy, make_key
):
    make_key("alice", ["get_info"], secret=ALICE_SECRET)
    with pytest.raises(CommandError, match=r'key "alice" already exists here with other perm'):
        import_legacy("--keys", legacy_keys)


def test_update_replaces_the_secret_and_permissions_of_the_generated_admin_key(
    write, import_legacy, make_key, client_for
):
    # The usual switch: the first start of this service generated an `admin` key, and
    # yt-dlp-host has one too, whose secret the clients know.
    APIKey.objects.filter(name="admin").delete()
    _, generated_secret = make_key("admin", PERMISSIONS)
    path = write("api_keys.json", {"admin": {"key": ALICE_SECRET, "permissions": ["admin"]}})
    out, _ = import_legacy("--keys", path, "--update")
    assert "keys: 0 created, 0 unchanged, 1 updated" in out
    admin = APIKey.objects.get(name="admin")
    assert admin.permissions == ["create_key", "delete_key", "get_key", "get_keys"]
    assert admin.secret == ALICE_SECRET
    assert APIKey.objects.get_by_secret(generated_secret) is None
    response = client_for(ALICE_SECRET).post(
        "/check_permissions", {"permissions": ["create_key"]}, format="json"
    )
    assert response.status_code == 200


def test_a_secret_that_belongs_to_another_key_is_refused_even_with_update(
    legacy_keys, import_legacy, make_key
):
    make_key("someone", ["get_info"], secret=ALICE_SECRET)
    with pytest.raises(CommandError, match=r'its secret already belongs to the key "someone"'):
        import_legacy("--keys", legacy_keys, "--update")
    assert not APIKey.objects.filter(name="alice").exists()


def test_the_line_of_an_entry_is_found_in_the_text():
    text = '{\n  "a": {"key_name": "b"},\n  "b" : {}\n}'
    assert line_of(text, "b") == 3
    assert line_of(text, "missing") is None


def test_ansi_colours_are_stripped_from_errors():
    assert strip_ansi("\x1b[0;31mERROR:\x1b[0m [youtube] x") == "ERROR: [youtube] x"


def test_only_a_files_url_of_the_task_itself_gives_a_file_name():
    assert file_name_from_url("abc", "/files/abc/video.mp4") == "video.mp4"
    assert file_name_from_url("abc", "/files/other/video.mp4") == ""
    assert file_name_from_url("abc", "/files/abc/../x/video.mp4") == ""
    assert file_name_from_url("abc", "/files/abc/..") == ""
    assert file_name_from_url("abc", "gs://bucket/abc/video.mp4") == ""


def test_tasks_are_imported_with_their_statuses_mapped_and_waiting_ones_queued(
    legacy_keys, write, import_legacy, enqueued, download_dir, django_capture_on_commit_callbacks
):
    (download_dir / "done1234").mkdir()
    (download_dir / "done1234" / "video.mp4").write_bytes(b"video")
    tasks = write(
        "tasks.json",
        {
            "failed12": legacy_task(
                error="\x1b[0;31mERROR:\x1b[0m [youtube] x: Sign in to confirm",
                start_time="00:00:00",
                end_time="00:01:30",
                force_keyframes=True,
                completed_time="2025-04-22T17:26:00.720278",
            ),
            "done1234": legacy_task(
                status="completed",
                output_format="mp4",
                file="/files/done1234/video.mp4",
                completed_time="2025-04-22T17:30:00",
            ),
            "nofile12": legacy_task(
                status="completed", task_type="get_info", file="/files/nofile12/info.json"
            ),
            "waiting1": legacy_task(status="waiting", task_type="get_audio", start_time=5),
            "running1": legacy_task(
                status="processing", task_type="get_live_video", start=30, duration="00:01:00"
            ),
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        out, err = import_legacy("--keys", legacy_keys, "--tasks", tasks)
    assert "tasks: 5 created, 0 unchanged (new: 1 completed, 2 error, 2 queued" in out
    assert "1 completed task(s) had no file" in err

    failed = Task.objects.get(pk="failed12")
    assert failed.api_key.name == "alice"
    assert (failed.status, failed.error) == ("error", "ERROR: [youtube] x: Sign in to confirm")
    assert (failed.start_time, failed.end_time, failed.force_keyframes) == (0.0, 90.0, True)
    assert failed.finished_at == datetime(2025, 4, 22, 17, 26, 0, 720278, tzinfo=UTC)
    assert failed.created_at == failed.finished_at  # outside any rate-limit window

    done = Task.objects.get(pk="done1234")
    assert (done.status, done.file_name, done.output_format) == ("completed", "video.mp4", "mp4")

    no_file = Task.objects.get(pk="nofile12")
    assert (no_file.status, no_file.error, no_file.file_name) == ("error", FILE_NOT_FOUND, "")
    assert no_file.finished_at is not None  # so the cleanup removes it in due time

    waiting = Task.objects.get(pk="waiting1")
    assert (waiting.status, waiting.task_type, waiting.start_time) == ("waiting", "get_audio", 5.0)
    assert waiting.finished_at is None
    running = Task.objects.get(pk="running1")
    assert (running.status, running.live_start, running.live_duration) == ("waiting", 30.0, 60.0)
    assert sorted(enqueued) == ["running1", "waiting1"]


def test_waiting_tasks_are_queued_only_once_the_import_commits(
    legacy_keys, write, import_legacy, enqueued, django_capture_on_commit_callbacks
):
    tasks = write("tasks.json", {"waiting1": legacy_task(status="waiting")})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_legacy("--keys", legacy_keys, "--tasks", tasks)
    assert enqueued == []
    assert len(callbacks) == 1


def test_an_imported_completed_file_is_served(
    legacy_keys, write, import_legacy, download_dir, client_for
):
    (download_dir / "done1234").mkdir()
    (download_dir / "done1234" / "audio.mp3").write_bytes(b"the audio")
    tasks = write(
        "tasks.json",
        {
            "done1234": legacy_task(
                status="completed", task_type="get_audio", file="/files/done1234/audio.mp3"
            )
        },
    )
    import_legacy("--keys", legacy_keys, "--tasks", tasks)
    response = client_for().get("/files/done1234/audio.mp3")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"the audio"
    status = client_for(ALICE_SECRET).get("/status/done1234").json()
    assert (status["status"], status["file"]) == ("completed", "/files/done1234/audio.mp3")


def test_downloads_copies_the_directory_of_each_completed_task(
    legacy_keys, write, import_legacy, tmp_path, download_dir
):
    old_downloads = tmp_path / "old-downloads"
    (old_downloads / "done1234").mkdir(parents=True)
    (old_downloads / "done1234" / "video.mp4").write_bytes(b"video")
    (old_downloads / "failed12").mkdir()
    (old_downloads / "failed12" / "video.part").write_bytes(b"partial")
    tasks = write(
        "tasks.json",
        {
            "done1234": legacy_task(status="completed", file="/files/done1234/video.mp4"),
            "failed12": legacy_task(error="boom"),
        },
    )
    out, _ = import_legacy("--keys", legacy_keys, "--tasks", tasks, "--downloads", old_downloads)
    assert "1 directories copied" in out
    assert (download_dir / "done1234" / "video.mp4").read_bytes() == b"video"
    assert Task.objects.get(pk="done1234").status == "completed"
    assert not (download_dir / "failed12").exists()


def test_a_failed_import_removes_the_directories_it_copied(
    legacy_keys, write, import_legacy, tmp_path, download_dir, monkeypatch
):
    old_downloads = tmp_path / "old-downloads"
    (old_downloads / "done1234").mkdir(parents=True)
    (old_downloads / "done1234" / "video.mp4").write_bytes(b"video")
    tasks = write(
        "tasks.json",
        {"done1234": legacy_task(status="completed", file="/files/done1234/video.mp4")},
    )

    def fail(plan):
        raise RuntimeError("database went away")

    monkeypatch.setattr("legacy_import.tasks.apply_task_plan", fail)
    with pytest.raises(RuntimeError):
        import_legacy("--keys", legacy_keys, "--tasks", tasks, "--downloads", old_downloads)
    assert not (download_dir / "done1234").exists()
    assert not APIKey.objects.filter(name="alice").exists()


def test_a_second_run_skips_existing_tasks_as_unchanged(
    legacy_keys, write, import_legacy, enqueued, django_capture_on_commit_callbacks
):
    tasks = write(
        "tasks.json",
        {"waiting1": legacy_task(status="waiting"), "failed12": legacy_task(error="boom")},
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_legacy("--keys", legacy_keys, "--tasks", tasks)
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = import_legacy("--keys", legacy_keys, "--tasks", tasks)
    assert "tasks: 0 created, 2 unchanged" in out
    assert Task.objects.filter(pk__in=["waiting1", "failed12"]).count() == 2
    assert enqueued == ["waiting1"]


def test_a_task_of_an_unknown_key_imports_nothing(legacy_keys, write, import_legacy):
    tasks = write(
        "tasks.json",
        {"failed12": legacy_task(), "orphan12": legacy_task(key_name="nobody")},
    )
    with pytest.raises(CommandError, match=r'tasks.json line \d+: task "orphan12": its key "nob'):
        import_legacy("--keys", legacy_keys, "--tasks", tasks)
    assert not APIKey.objects.filter(name="alice").exists()
    assert not Task.objects.exists()


def test_a_task_may_belong_to_a_key_that_is_already_here(write, import_legacy, make_key):
    make_key("earlier", ["get_info"])
    keys = write("api_keys.json", {})
    tasks = write("tasks.json", {"failed12": legacy_task(key_name="earlier")})
    import_legacy("--keys", keys, "--tasks", tasks)
    assert Task.objects.get(pk="failed12").api_key.name == "earlier"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (legacy_task(status="done"), '"status" must be one of'),
        (legacy_task(task_type="get_playlist"), '"task_type" must be one of'),
        (legacy_task(url=""), '"url" This field may not be blank'),
        (legacy_task(start_time="soon"), '"start_time" must be a number of seconds'),
        (legacy_task(force_keyframes="yes"), '"force_keyframes" must be true or false'),
        (legacy_task(output_format="exe"), '"output_format" must be one of'),
        (
            legacy_task(status="waiting", video_format="bestvideo[url~='(a+)+!']"),
            '"video_format" must not use regular-expression filters',
        ),
        (legacy_task(completed_time="yesterday"), '"completed_time" must be an ISO 8601'),
        (
            legacy_task(status="waiting", url="ftp://example.com/x"),
            '"url" must be an http or https URL',
        ),
        (
            legacy_task(status="waiting", task_type="get_live_audio"),
            '"duration" This field is required',
        ),
    ],
)
def test_a_wrong_task_is_named_and_imports_nothing(
    legacy_keys, write, import_legacy, entry, problem
):
    tasks = write("tasks.json", {"failed12": legacy_task(), "bad12345": entry})
    with pytest.raises(CommandError, match=r'task "bad12345": ' + problem):
        import_legacy("--keys", legacy_keys, "--tasks", tasks)
    assert not Task.objects.exists()
    assert not APIKey.objects.filter(name="alice").exists()


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (legacy_task(status="waiting", start_time=60, end_time=30), "end_time must be after"),
        (
            legacy_task(status="waiting", task_type="get_live_audio", duration=0),
            '"duration" must be a positive number',
        ),
        (
            legacy_task(status="waiting", task_type="get_live_audio", duration=10**6),
            '"duration" must be at most 3600 seconds',
        ),
    ],
)
def test_a_task_still_to_run_must_pass_the_apis_rules(
    legacy_keys, write, import_legacy, settings, entry, problem
):
    settings.LIVE_MAX_DURATION = 3600
    tasks = write("tasks.json", {"bad12345": entry})
    with pytest.raises(CommandError, match=r'task "bad12345": ' + problem):
        import_legacy("--keys", legacy_keys, "--tasks", tasks)
    assert not Task.objects.exists()


def test_a_finished_task_is_imported_as_a_record_even_where_it_could_not_run_here(
    legacy_keys, write, import_legacy
):
    tasks = write(
        "tasks.json",
        {
            "ftp12345": legacy_task(url="ftp://example.com/x", start_time=60, end_time=30),
            "live1234": legacy_task(task_type="get_live_video"),
        },
    )
    out, _ = import_legacy("--keys", legacy_keys, "--tasks", tasks)
    assert "tasks: 2 created" in out
    assert Task.objects.get(pk="ftp12345").url == "ftp://example.com/x"
    assert Task.objects.get(pk="live1234").live_duration is None


def test_a_task_still_to_run_is_refused_a_literal_private_address_without_any_dns_lookup(
    legacy_keys, write, import_legacy, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.ALLOW_PRIVATE_URLS = False
    private = write("tasks.json", {"local123": legacy_task(status="waiting", url="http://127.1/")})
    with pytest.raises(CommandError, match=r'task "local123": "url" points at a private'):
        import_legacy("--keys", legacy_keys, "--tasks", private)
    # A host name is not looked up: this one could never resolve.
    unresolvable = write(
        "tasks.json", {"gone1234": legacy_task(status="waiting", url="https://gone.invalid/v")}
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_legacy("--keys", legacy_keys, "--tasks", unresolvable)
    assert enqueued == ["gone1234"]


def test_a_task_id_that_is_not_a_plain_name_is_refused(legacy_keys, write, import_legacy):
    tasks = write("tasks.json", {"../../etc": legacy_task()})
    with pytest.raises(CommandError, match=r'task "../../etc": a task id is'):
        import_legacy("--keys", legacy_keys, "--tasks", tasks)


def test_two_names_equal_once_normalised_are_reported(write, import_legacy):
    path = write(
        "api_keys.json",
        {
            "alice": {"key": ALICE_SECRET, "permissions": []},
            "ＡＬＩＣＥ": {"key": BOB_SECRET, "permissions": []},
        },
    )
    with pytest.raises(CommandError, match=r'key "ＡＬＩＣＥ": is the same name as "alice"'):
        import_legacy("--keys", path)
    assert not APIKey.objects.filter(normalized_name="alice").exists()


def test_a_name_equal_to_an_existing_one_once_normalised_is_reported_even_with_update(
    write, import_legacy, make_key
):
    make_key("Alice", ["get_info"])
    path = write("api_keys.json", {"alice": {"key": ALICE_SECRET, "permissions": []}})
    with pytest.raises(CommandError, match=r'key "alice": the key "Alice" here has the same'):
        import_legacy("--keys", path, "--update")
    assert APIKey.objects.get(normalized_name="alice").name == "Alice"
