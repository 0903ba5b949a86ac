"""The byte quotas (downloads_app/quotas.py): refused at submission, reserved exactly under
concurrency, counted as a download writes, shown in /me, the headers and /metrics."""

import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone

from downloads_app import lifecycle, quotas
from downloads_app.errors import DownloadFailed, ErrorCode
from downloads_app.limits import Limits
from downloads_app.metrics import QuotaGauges
from downloads_app.models import ByteUsage, Task, TaskStatus, TaskType

URL = "http://127.0.0.1:9/video.mp4"
VIDEO_SIZE, AUDIO_SIZE = 400_000, 100_000
SIZE = VIDEO_SIZE + AUDIO_SIZE  # what get_video picks: best video + best audio


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    """These tests count bytes and refusals; the tasks need not run."""
    monkeypatch.setattr(lifecycle, "enqueue", lambda task_id: None)


def looked_up(api_key, url=URL, duration=10):
    """A completed get_info of `url` by the key, as the web page runs before a download."""
    task = Task.objects.create(
        api_key=api_key, task_type=TaskType.GET_INFO, url=url, status=TaskStatus.COMPLETED,
        file_name="info.json", finished_at=timezone.now(),
    )  # fmt: skip
    formats = [
        {"format_id": "audio", "url": url, "ext": "m4a", "vcodec": "none", "acodec": "mp4a",
         "abr": 128, "filesize": AUDIO_SIZE},
        {"format_id": "small", "url": url, "ext": "mp4", "vcodec": "avc1", "acodec": "none",
         "height": 180, "filesize_approx": VIDEO_SIZE // 2},
        {"format_id": "video", "url": url, "ext": "mp4", "vcodec": "avc1", "acodec": "none",
         "height": 720, "filesize": VIDEO_SIZE},
    ]  # fmt: skip
    directory = django_settings.DOWNLOAD_DIR / task.id
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "info.json").write_text(json.dumps({"duration": duration, "formats": formats}))
    return task


def written(api_key, size, ago=timedelta(0), task_id="earlier"):
    """Bytes a download of the key wrote `ago`."""
    ByteUsage.objects.create(
        api_key=api_key, task_id=task_id, bucket_end=quotas.bucket_end(timezone.now() - ago),
        bytes=size,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_key_with_nothing_left_is_refused_with_429_saying_what_is_left_and_when(
    make_key, client_for
):
    api_key, secret = make_key("capped", ["get_video"], quota_bytes=1_048_576)
    written(api_key, 1_048_576, ago=timedelta(hours=1))
    response = client_for(secret).post("/get_video", {"url": URL}, format="json")
    assert response.status_code == 429
    message = response.json()["error"]
    assert "this key's byte quota is 1.0 MB (1048576 bytes) per 1440 minutes" in message
    assert "and 0 bytes are left" in message
    # The bytes written an hour ago leave the day's window in 23 hours (a bucket later
    # at most: buckets are a hundredth of the window).
    wait = int(response["Retry-After"])
    assert 23 * 3600 <= wait <= 23 * 3600 + 864 + 1
    assert message.endswith(f"; try again in {wait} seconds")
    assert response["X-Quota-Bytes-Limit"] == "1048576"
    assert response["X-Quota-Bytes-Remaining"] == "0"
    assert response["X-Quota-Bytes-Scope"] == "key"
    assert not Task.objects.filter(task_type=TaskType.GET_VIDEO).exists()


@pytest.mark.django_db
def test_a_task_whose_looked_up_size_does_not_fit_is_refused_and_one_that_fits_reserves_it(
    make_key, client_for
):
    api_key, secret = make_key("sized", ["get_video", "get_audio"], quota_bytes=SIZE + 50_000)
    looked_up(api_key)
    written(api_key, 100_000)
    client = client_for(secret)
    refused = client.post("/get_video", {"url": URL}, format="json")
    assert refused.status_code == 429
    assert f"the task needs 488.3 KB ({SIZE} bytes)" in refused.json()["error"]
    assert "450000 bytes are left" in refused.json()["error"]

    audio = client.post("/get_audio", {"url": URL}, format="json")  # the audio alone fits
    assert audio.status_code == 200
    assert Task.objects.get(pk=audio.json()["task_id"]).reserved_bytes == AUDIO_SIZE
    assert audio["X-Quota-Bytes-Used"] == str(100_000 + AUDIO_SIZE)
    assert audio["X-Quota-Bytes-Remaining"] == str(SIZE + 50_000 - 100_000 - AUDIO_SIZE)


@pytest.mark.django_db
def test_the_size_follows_the_tasks_formats_and_clip(make_key):
    from downloads_app.known_length import known_size

    api_key, _ = make_key("estimates", ["get_video"])
    looked_up(api_key)

    def size(**fields):
        fields = {"video_format": "bestvideo", "audio_format": "bestaudio", **fields}
        return known_size(api_key, Task(api_key=api_key, url=URL, **fields))

    assert size(task_type=TaskType.GET_VIDEO) == SIZE
    worst = size(task_type=TaskType.GET_VIDEO, video_format="worstvideo")
    assert worst == VIDEO_SIZE // 2 + AUDIO_SIZE  # filesize_approx when that is all it has
    assert size(task_type=TaskType.GET_AUDIO) == AUDIO_SIZE
    assert size(task_type=TaskType.GET_VIDEO, start_time=2.0, end_time=4.0) == SIZE // 5
    assert size(task_type=TaskType.GET_LIVE_VIDEO, live_duration=5) is None
    unknown = Task(api_key=api_key, url=f"{URL}?other", task_type="get_video")
    assert known_size(api_key, unknown) is None  # never looked up


@pytest.mark.django_db
def test_the_servers_quota_counts_every_key_and_refuses_each(make_key, client_for, settings):
    settings.TOTAL_QUOTA_BYTES = 2_000_000
    other, _ = make_key("other", ["get_video"])
    _, secret = make_key("unlimited", ["get_video"])
    written(other, 2_000_000)
    response = client_for(secret).post("/get_video", {"url": URL}, format="json")
    assert response.status_code == 429
    assert "the server's byte quota (TOTAL_QUOTA_BYTES)" in response.json()["error"]
    assert response["X-Quota-Bytes-Scope"] == "server"


@pytest.mark.django_db
def test_a_playlist_and_a_retry_are_refused_when_nothing_is_left(make_key, client_for):
    api_key, secret = make_key("spent", ["get_video"], quota_bytes=SIZE)
    looked_up(api_key)
    failed = Task.objects.create(
        api_key=api_key, task_type="get_video", url=URL, video_format="bestvideo",
        audio_format="bestaudio", status="error", error="Network",
    )  # fmt: skip
    client = client_for(secret)
    written(api_key, SIZE // 2)
    refused = client.post(f"/retry/{failed.id}")  # its looked-up size no longer fits
    assert refused.status_code == 429 and "the task needs" in refused.json()["error"]
    written(api_key, SIZE // 2, task_id="later")
    playlist = client.post("/get_playlist", {"url": URL, "type": "video"}, format="json")
    assert playlist.status_code == 429 and "0 bytes are left" in playlist.json()["error"]
    assert Task.objects.get(pk=failed.pk).status == "error"


def test_create_admin_key_gives_a_quota_when_asked(db):
    from django.core.management import call_command

    from keys_app.models import APIKey

    call_command("create_admin_key", "--name", "metered-admin", "--quota-bytes", "5000")
    assert APIKey.objects.get(name="metered-admin").effective_quota_bytes == 5000
    call_command("create_admin_key", "--name", "free-admin")
    assert APIKey.objects.get(name="free-admin").effective_quota_bytes is None


@pytest.mark.django_db
def test_get_info_is_not_refused_it_downloads_no_media(make_key, client_for):
    api_key, secret = make_key("looking", ["get_info"], quota_bytes=10)
    written(api_key, 10)
    assert client_for(secret).post("/get_info", {"url": URL}, format="json").status_code == 200


@pytest.mark.django_db
def test_me_shows_the_keys_and_the_servers_quota(make_key, client_for, settings):
    settings.TOTAL_QUOTA_BYTES = 5_000_000
    api_key, secret = make_key("shown", ["get_video"], quota_bytes=1_000_000)
    written(api_key, 300_000, ago=timedelta(hours=2))
    Task.objects.create(api_key=api_key, task_type="get_video", url=URL, reserved_bytes=200_000)
    Task.objects.create(  # a reservation of an ended task holds nothing
        api_key=api_key, task_type="get_video", url=URL, reserved_bytes=999, status="error"
    )
    quota = client_for(secret).get("/me").json()["quota"]
    assert quota["window"] == 1440.0
    assert {k: quota["key"][k] for k in ("limit", "used", "remaining")} == {
        "limit": 1_000_000, "used": 500_000, "remaining": 500_000,
    }  # fmt: skip
    assert 22 * 3600 <= quota["key"]["reset"] <= 22 * 3600 + 865
    assert quota["server"]["used"] == 500_000 and quota["server"]["limit"] == 5_000_000


@pytest.mark.django_db
def test_a_key_with_a_quota_creates_keys_with_no_larger_one(make_key, client_for):
    _, secret = make_key(
        "manager", ["create_key", "get_key", "get_video"], quota_bytes=1000, request_limit=5
    )
    client = client_for(secret)
    body = {"name": "bigger", "permissions": ["get_video"], "request_limit": 5}
    refused = client.post("/create_key", {**body, "quota_bytes": 2000}, format="json")
    assert refused.status_code == 403 and "a byte quota of 2000" in refused.json()["error"]
    refused = client.post("/create_key", body, format="json")
    assert refused.status_code == 403 and "no byte quota" in refused.json()["error"]
    created = client.post("/create_key", {**body, "quota_bytes": 1000}, format="json")
    assert created.status_code == 201
    assert client.get("/get_key/bigger").json()["quota_bytes"] == 1000


@pytest.mark.django_db
def test_the_worker_counts_what_is_written_gives_back_the_reservation_and_stops_past_it(
    make_key,
):
    api_key, _ = make_key("counted", ["get_video"], quota_bytes=1_000)
    task = Task.objects.create(
        api_key=api_key, task_type="get_video", url=URL, status="processing", reserved_bytes=600
    )
    counter = quotas.ByteCounter(Task.objects.select_related("api_key").get(pk=task.pk))
    assert counter.count(400) is None
    assert Task.objects.get(pk=task.pk).reserved_bytes == 200
    assert counter.count(400) is None  # nothing new
    assert counter.count(1_000) is None  # exactly the quota: not past it
    assert Task.objects.get(pk=task.pk).reserved_bytes == 0
    passed = counter.count(1_001)
    assert passed.scope == "key" and passed.used == 1_001
    assert sum(ByteUsage.objects.filter(task_id=task.id).values_list("bytes", flat=True)) == 1_001
    message, retry_after = quotas.stopped(passed, 2_000)
    assert message.startswith("The download was stopped: Byte quota exceeded")
    assert retry_after == round(quotas.window().total_seconds())  # 2000 never fit in 1000


def test_the_child_refuses_a_known_size_that_its_room_cannot_hold():
    allowance = quotas.Allowance("key", 1_000, 900, (), timezone.now())
    limits = Limits(quota=quotas.QuotaRoom(allowance, reserved=300))  # its own 300 of 900
    limits.check_quota(400)  # 100 left + its 300
    with pytest.raises(DownloadFailed) as refused:
        limits.check_quota(401)
    assert refused.value.code == ErrorCode.QUOTA_EXCEEDED
    assert refused.value.retry_after == round(quotas.window().total_seconds())


def test_seconds_until_free_waits_for_enough_of_the_oldest_bytes_to_leave():
    now = timezone.now()
    freeing = ((now + timedelta(seconds=10), 300), (now + timedelta(seconds=50), 300))
    allowance = quotas.Allowance("key", 1_000, 900, freeing, now)
    assert allowance.seconds_until_free(100) == 0
    assert allowance.seconds_until_free(300) == 10
    assert allowance.seconds_until_free(500) == 50
    assert allowance.seconds_until_free(900) == 86400  # reservations (300) leave with tasks
    assert allowance.reset == 10


@pytest.mark.django_db
def test_metrics_show_the_windows_bytes_and_the_refusals(make_key, client_for, settings):
    from prometheus_client import REGISTRY

    settings.METRICS_ENABLED = True
    settings.TOTAL_QUOTA_BYTES = 7_000
    api_key, secret = make_key("metered", ["get_video"], quota_bytes=5_000)
    written(api_key, 5_000)
    Task.objects.create(api_key=api_key, task_type="get_video", url=URL, reserved_bytes=1_500)
    before = REGISTRY.get_sample_value("ytdlphost_quota_refusals_total", {"scope": "key"}) or 0
    assert client_for(secret).post("/get_video", {"url": URL}, format="json").status_code == 429
    after = REGISTRY.get_sample_value("ytdlphost_quota_refusals_total", {"scope": "key"})
    assert after == before + 1
    samples = {
        (sample.name, sample.labels.get("kind")): sample.value
        for family in QuotaGauges().collect()  # as /metrics collects it
        for sample in family.samples
    }  # fmt: skip
    assert samples == {
        ("ytdlphost_quota_window_bytes", "written"): 5_000,
        ("ytdlphost_quota_window_bytes", "reserved"): 1_500,
        ("ytdlphost_quota_total_bytes", None): 7_000,
    }


@pytest.mark.django_db(transaction=True)
def test_20_concurrent_submissions_accept_exactly_as_many_as_the_quota_fits(make_key, client_for):
    fits = 3
    api_key, secret = make_key("racer", ["get_video"], quota_bytes=fits * SIZE + SIZE // 2)
    looked_up(api_key)
    codes, start = [], threading.Barrier(20)

    def submit():
        client = client_for(secret)
        start.wait()
        try:
            codes.append(client.post("/get_video", {"url": URL}, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * fits + [429] * (20 - fits)
    accepted = Task.objects.filter(task_type=TaskType.GET_VIDEO)
    assert sorted(accepted.values_list("reserved_bytes", flat=True)) == [SIZE] * fits


RUN_FOR_REAL = lifecycle.enqueue  # before no_queue replaces it


@pytest.mark.django_db
def test_a_download_that_passes_the_quota_is_stopped_and_its_partial_file_removed(
    make_key, client_for, run_task, progressive_url, monkeypatch, settings
):
    from prometheus_client import REGISTRY

    monkeypatch.setattr(lifecycle, "enqueue", RUN_FOR_REAL)  # run by django-q2's sync mode
    settings.METRICS_ENABLED = True
    stops = {"name": "ytdlphost_quota_stops_total", "labels": {"scope": "key"}}
    before = REGISTRY.get_sample_value(**stops) or 0
    quota = 300_000  # progressive.mp4 is about 900 kB, served at 300 kB/s
    api_key, secret = make_key("stopped", ["get_video"], quota_bytes=quota)
    task, status = run_task(
        "/get_video", {"url": f"{progressive_url}?rate=300000"}, client=client_for(secret)
    )
    assert status["status"] == "error", status
    assert status["error_code"] == "quota_exceeded"
    assert status["error"].startswith("The download was stopped: Byte quota exceeded")
    assert status["retry_after"] > 0
    counted = sum(ByteUsage.objects.filter(task_id=task.id).values_list("bytes", flat=True))
    assert quota < counted < 898_876  # passed the quota, stopped before the end
    leftovers = [p for p in (django_settings.DOWNLOAD_DIR / task.id).rglob("*") if p.is_file()]
    assert leftovers == []
    assert REGISTRY.get_sample_value(**stops) == before + 1


@pytest.mark.django_db
def test_a_merged_download_counts_each_of_its_streams(
    user, run_task, dash_url, media_root, monkeypatch
):
    monkeypatch.setattr(lifecycle, "enqueue", RUN_FOR_REAL)
    task, status = run_task("/get_video", {"url": dash_url})
    assert status["status"] == "completed", status
    # What bestvideo+bestaudio fetched: the 360p stream's and the audio's init and chunks,
    # each file counted once (its progress, then its end) and only after the run: the key
    # has no quota.
    fetched = [
        path
        for stream in (2, 3)
        for path in (media_root / "dash").glob(f"*-stream{stream}*.m4s")
    ]  # fmt: skip
    counted = ByteUsage.objects.filter(task_id=task.id).values_list("bytes", flat=True)
    assert sum(counted) == sum(path.stat().st_size for path in fetched)


@pytest.mark.django_db(transaction=True)
def test_the_servers_quota_holds_exactly_under_submissions_of_several_keys(
    make_key, client_for, settings
):
    settings.TOTAL_QUOTA_BYTES = 3 * SIZE + SIZE // 2
    secrets = []
    for name in ("first", "second"):
        api_key, secret = make_key(name, ["get_video"])
        looked_up(api_key)
        secrets.append(secret)
    codes, start = [], threading.Barrier(20)

    def submit(secret):
        client = client_for(secret)
        start.wait()
        try:
            codes.append(client.post("/get_video", {"url": URL}, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(secrets[n % 2],)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * 3 + [429] * 17
