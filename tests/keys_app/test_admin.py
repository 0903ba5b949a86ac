import pytest
from django.contrib.auth.models import User

from keys_app.models import APIKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("owner", "owner@example.com", "pw")
    client.force_login(user)
    return client


def test_the_admin_lists_keys_with_their_permissions(staff_client, make_key):
    make_key("listed-bot", ["get_info", "get_audio"])
    page = staff_client.get("/admin/keys_app/apikey/")
    assert page.status_code == 200
    assert b"listed-bot" in page.content
    assert b"get_info, get_audio" in page.content


def test_creating_a_key_in_the_admin_shows_its_secret_once(staff_client):
    response = staff_client.post(
        "/admin/keys_app/apikey/add/",
        {"name": "from-admin", "permissions": ["get_info", "get_video"], "request_limit": ""},
        follow=True,
    )
    assert response.status_code == 200
    api_key = APIKey.objects.get(name="from-admin")
    assert api_key.permissions == ["get_video", "get_info"]
    assert api_key.secret.encode() in response.content
    later = staff_client.get(f"/admin/keys_app/apikey/{api_key.pk}/change/")
    assert api_key.secret.encode() not in later.content


def test_the_admin_searches_keys_by_name(staff_client, make_key):
    make_key("findme", ["get_info"])
    make_key("otherbot", ["get_info"])
    page = staff_client.get("/admin/keys_app/apikey/?q=findme")
    assert b"findme" in page.content
    assert b"otherbot" not in page.content


def test_the_admin_is_titled_after_the_service(staff_client):
    page = staff_client.get("/admin/")
    assert b"<title>Site administration | ytdlphost</title>" in page.content
    assert b'<div id="site-name"><a href="/admin/">ytdlphost</a></div>' in page.content


def test_the_admin_refuses_a_name_equal_to_another_once_normalised(staff_client):
    assert APIKey.objects.filter(name="admin").exists()  # seeded on the first migrate
    response = staff_client.post(
        "/admin/keys_app/apikey/add/", {"name": "Admin", "permissions": [], "request_limit": ""}
    )
    assert response.status_code == 200  # the form again, with its error
    assert b"An API key with this name already exists." in response.content
    assert APIKey.objects.count() == 1
