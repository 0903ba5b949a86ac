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
    from django.contrib.auth.models import User
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
    page = client.get(f"/admin/downloads_app/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert b"no answer in 10 s" in page.content and b"204" in page.content
    assert b"task.completed" in client.get("/admin/downloads_app/webhookdelivery/").content
