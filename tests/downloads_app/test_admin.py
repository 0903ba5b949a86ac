import pytest
from django.contrib.auth.models import User

from downloads_app.models import Task

pytestmark = pytest.mark.django_db


def test_the_admin_lists_tasks_with_owner_status_and_error(client, user):
    client.force_login(User.objects.create_superuser("owner", "o@example.com", "pw"))
    Task.objects.create(
        api_key=user[0], task_type="get_audio", url="http://example.com/broken",
        status="error", error="HTTP Error 404: Not Found",
    )  # fmt: skip
    page = client.get("/admin/downloads_app/task/?status__exact=error")
    assert page.status_code == 200
    for text in (b"downloader", b"get_audio", b"http://example.com/broken", b"HTTP Error 404"):
        assert text in page.content


def test_the_admin_shows_every_attempt_of_a_webhook_delivery(client, make_key):
    from django.contrib.admin.utils import quote
    from django.contrib.auth.models import User
    from django.urls import reverse
    from django.utils import timezone

    from downloads_app.models import WebhookAttempt, WebhookDelivery

    client.force_login(User.objects.create_superuser("hooks", "hooks@example.com", "pw"))
    api_key, _ = make_key("hooked", ["get_info"])
    delivery = WebhookDelivery.objects.create(
        api_key=api_key, task_id="t1", event_type="task.completed", url="http://e.com/",
        payload="{}", state="delivered", attempts=2,
    )  # fmt: skip
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, started_at=now, duration=10.0, error="no answer in 10 s"
    )
    WebhookAttempt.objects.create(
        delivery=delivery, number=2, started_at=now, duration=0.25, status_code=204
    )
    # The admin's URLs escape an id as its own links do ("_AB" would read as a byte).
    change = reverse("admin:downloads_app_webhookdelivery_change", args=[quote(delivery.pk)])
    page = client.get(change)
    assert page.status_code == 200
    assert b"no answer in 10 s" in page.content and b"204" in page.content
    assert b"task.completed" in client.get("/admin/downloads_app/webhookdelivery/").content


@pytest.fixture
def owner_client(client):
    client.force_login(User.objects.create_superuser("owner", "o@example.com", "pw"))
    return client


def test_the_admin_shows_a_running_tasks_progress(owner_client, user):
    task = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v", status="processing",
        downloaded_bytes=250, total_bytes=1000,
    )  # fmt: skip
    assert b"25 %" in owner_client.get("/admin/downloads_app/task/").content
    assert b"25 %" in owner_client.get(f"/admin/downloads_app/task/{task.pk}/change/").content


def test_the_admin_links_a_completed_tasks_file(owner_client, user):
    task = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v", status="completed",
        file_name="video.mp4",
    )  # fmt: skip
    link = f'<a href="/files/{task.pk}/video.mp4">video.mp4</a>'.encode()
    assert link in owner_client.get("/admin/downloads_app/task/").content
    assert link in owner_client.get(f"/admin/downloads_app/task/{task.pk}/change/").content


def test_the_admin_shows_a_failed_tasks_error_and_its_raw_detail(owner_client, user):
    task = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v", status="error",
        error="The URL answered 404 Not Found",
        error_detail="[generic] Unable to download webpage: HTTP Error 404: Not Found",
    )  # fmt: skip
    page = owner_client.get(f"/admin/downloads_app/task/{task.pk}/change/")
    assert b"The URL answered 404 Not Found" in page.content
    assert b"error detail" in page.content.lower()
    assert b"Unable to download webpage: HTTP Error 404: Not Found" in page.content


def test_admin_without_a_slash_redirects_to_the_admin(client):
    response = client.get("/admin")
    assert response.status_code == 301
    assert response["Location"] == "/admin/"


def test_the_admin_shows_no_stale_percent_for_a_finished_task(owner_client, user):
    # The last progress write of a download is rarely at 100 %: what it stopped at is not
    # the task's progress once it has finished.
    for status in ("completed", "error"):
        Task.objects.create(
            api_key=user[0], task_type="get_video", url=f"http://example.com/{status}",
            status=status, downloaded_bytes=970, total_bytes=1000,
        )  # fmt: skip
    page = owner_client.get("/admin/downloads_app/task/")
    assert b"97 %" not in page.content


def test_the_admin_tells_the_downloads_from_django_q2s_background_queue(owner_client):
    page = owner_client.get("/admin/").content.decode()
    assert ">Downloads<" in page and ">Background queue<" in page
    assert "Task queue" not in page


def test_the_admin_lists_the_sites_backing_off_and_ends_a_backoff_by_hand(owner_client):
    from django.utils import timezone

    from downloads_app import site_limits
    from downloads_app.models import Site

    site_limits.record_refusal("youtube.com", 600, timezone.now())
    page = owner_client.get("/admin/downloads_app/site/")
    assert page.status_code == 200 and b"youtube.com" in page.content
    owner_client.post(
        "/admin/downloads_app/site/",
        {"action": "end_backoffs", "_selected_action": ["youtube.com"]},
    )
    assert site_limits.backoffs() == []
    assert Site.objects.get(name="youtube.com").backoff_until <= timezone.now()
