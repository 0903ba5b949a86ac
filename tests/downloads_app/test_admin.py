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
