import pytest

from keys_app.models import PERMISSIONS, APIKey

pytestmark = pytest.mark.django_db

USER_PERMISSIONS = ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"]


def test_create_key_answers_201_with_a_working_secret(admin_client, client_for):
    response = admin_client.post(
        "/create_key", {"name": "bot", "permissions": ["get_info"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "API key created successfully"
    assert body["name"] == "bot"
    check = client_for(body["key"]).post(
        "/check_permissions", {"permissions": ["get_info"]}, format="json"
    )
    assert check.status_code == 200


def test_create_key_rejects_an_existing_name_with_409(admin_client, make_key):
    original, secret = make_key("bot", ["get_info"])
    response = admin_client.post(
        "/create_key", {"name": "bot", "permissions": ["get_video"]}, format="json"
    )
    assert response.status_code == 409
    assert "already exists" in response.json()["error"]
    original.refresh_from_db()
    assert original.permissions == ["get_info"]
    assert APIKey.objects.get_by_secret(secret) == original


def test_create_key_rejects_unknown_permission_names(admin_client):
    response = admin_client.post(
        "/create_key", {"name": "bot", "permissions": ["get_info", "fly"]}, format="json"
    )
    assert response.status_code == 400
    assert "fly" in response.json()["error"]
    assert not APIKey.objects.filter(name="bot").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"permissions": ["get_info"]},
        {"name": "bot"},
        {"name": "", "permissions": []},
        {"name": "a/b", "permissions": []},
        {"name": "x" * 101, "permissions": []},
        {"name": "bot", "permissions": "get_info"},
        {"name": "bot", "permissions": [1]},
        {"name": ["bot"], "permissions": []},
        {"name": "bot", "permissions": [], "request_limit": 0},
        {"name": "bot", "permissions": [], "request_limit": 2**63},  # was a 500 (SQLite)
        {"name": "bot", "permissions": [], "colour": "red"},
    ],
)
def test_create_key_rejects_malformed_input_with_a_json_400(admin_client, body):
    response = admin_client.post("/create_key", body, format="json")
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_a_key_cannot_grant_permissions_it_does_not_hold(make_key, client_for):
    _, secret = make_key("manager", ["create_key", "get_info"])
    response = client_for(secret).post(
        "/create_key", {"name": "bot", "permissions": ["get_info", "get_video"]}, format="json"
    )
    assert response.status_code == 403
    assert "get_video" in response.json()["error"]
    assert not APIKey.objects.filter(name="bot").exists()


def test_create_key_stores_a_per_key_request_limit(admin_client):
    response = admin_client.post(
        "/create_key",
        {"name": "bot", "permissions": ["get_info"], "request_limit": 3},
        format="json",
    )
    assert response.status_code == 201
    assert APIKey.objects.get(name="bot").request_limit == 3


def test_get_key_returns_the_secret(admin_client, make_key):
    _, secret = make_key("bot", ["get_info"])
    response = admin_client.get("/get_key/bot")
    assert response.status_code == 200
    body = response.json()
    assert body["key"] == secret
    assert body["name"] == "bot"
    assert body["message"] == "API key get successfully"


def test_get_key_of_an_unknown_name_is_a_json_404(admin_client):
    response = admin_client.get("/get_key/nobody")
    assert response.status_code == 404
    assert "nobody" in response.json()["error"]


def test_get_keys_lists_every_key_by_name(admin_client, make_key):
    _, secret = make_key("bot", ["get_info"])
    response = admin_client.get("/get_keys")
    assert response.status_code == 200
    keys = response.json()
    assert keys["bot"] == {**keys["bot"], "key": secret, "name": "bot", "permissions": ["get_info"]}
    assert set(keys["root"]["permissions"]) == set(PERMISSIONS)


def test_delete_key_removes_it_and_its_secret_stops_working(admin_client, make_key, client_for):
    _, secret = make_key("bot", ["get_info"])
    response = admin_client.delete("/delete_key/bot")
    assert response.status_code == 200
    assert response.json() == {"message": "API key deleted successfully", "name": "bot"}
    again = client_for(secret).post("/check_permissions", {"permissions": []}, format="json")
    assert again.status_code == 401
    assert again.json() == {"error": "Invalid API key"}


def test_delete_key_of_an_unknown_name_is_a_json_404(admin_client):
    response = admin_client.delete("/delete_key/nobody")
    assert response.status_code == 404
    assert "nobody" in response.json()["error"]


def test_the_last_key_holding_create_key_cannot_be_deleted(make_key, client_for):
    APIKey.objects.all().delete()
    _, secret = make_key("only-admin", PERMISSIONS)
    response = client_for(secret).delete("/delete_key/only-admin")
    assert response.status_code == 409
    assert "last" in response.json()["error"]
    assert APIKey.objects.filter(name="only-admin").exists()


def test_a_create_key_holder_can_be_deleted_while_another_remains(make_key, client_for):
    APIKey.objects.all().delete()
    _, secret = make_key("first", PERMISSIONS)
    make_key("second", PERMISSIONS)
    response = client_for(secret).delete("/delete_key/second")
    assert response.status_code == 200


def test_check_permissions_is_200_when_all_are_held(make_key, client_for):
    _, secret = make_key("bot", ["get_info", "get_audio"])
    response = client_for(secret).post(
        "/check_permissions", {"permissions": ["get_info", "get_audio"]}, format="json"
    )
    assert response.status_code == 200


def test_check_permissions_is_403_naming_what_is_missing(make_key, client_for):
    _, secret = make_key("bot", ["get_info"])
    response = client_for(secret).post(
        "/check_permissions", {"permissions": ["get_info", "get_video"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "Insufficient permissions"
    assert response.json()["missing"] == ["get_video"]


def test_check_permissions_rejects_unknown_names(make_key, client_for):
    _, secret = make_key("bot", ["get_info"])
    response = client_for(secret).post(
        "/check_permissions", {"permissions": ["teleport"]}, format="json"
    )
    assert response.status_code == 400


# A key acts only on keys it covers: no permission it lacks, no higher request limit.


def test_get_key_refuses_the_secret_of_a_key_with_more_permissions(make_key, client_for):
    _, reader = make_key("reader", ["get_key"])
    _, strong = make_key("strong", ["get_key", "get_video"])
    response = client_for(reader).get("/get_key/strong")
    assert response.status_code == 403
    assert "get_video" in response.json()["error"]
    assert strong not in response.content.decode()


def test_get_key_shows_a_key_with_fewer_permissions(make_key, client_for):
    _, reader = make_key("reader", ["get_key", "get_info"])
    _, weak = make_key("weak", ["get_info"])
    response = client_for(reader).get("/get_key/weak")
    assert response.status_code == 200
    assert response.json()["key"] == weak


def test_get_key_refuses_the_secret_of_a_key_with_a_higher_request_limit(
    settings, make_key, client_for
):
    settings.REQUEST_LIMIT = 20
    _, reader = make_key("reader", ["get_key", "get_info"], request_limit=5)
    make_key("generous", ["get_info"])  # REQUEST_LIMIT, above the reader's 5
    response = client_for(reader).get("/get_key/generous")
    assert response.status_code == 403
    assert "request limit of 20" in response.json()["error"]


def test_get_keys_lists_a_stronger_key_without_its_secret(make_key, client_for):
    _, reader = make_key("reader", ["get_keys", "get_info"])
    _, weak = make_key("weak", ["get_info"])
    response = client_for(reader).get("/get_keys")
    assert response.status_code == 200
    keys = response.json()
    assert keys["weak"]["key"] == weak
    assert keys["reader"]["key"] == reader
    # The seeded `admin` key holds every permission.
    assert keys["admin"]["key"] is None
    assert set(keys["admin"]) == set(keys["weak"])  # the same entry shape, secret null
    assert set(keys["admin"]["permissions"]) == set(PERMISSIONS)


def test_create_key_refuses_a_request_limit_above_the_creators_own(make_key, client_for):
    _, creator = make_key("manager", ["create_key", "get_info"], request_limit=10)
    response = client_for(creator).post(
        "/create_key",
        {"name": "bot", "permissions": ["get_info"], "request_limit": 11},
        format="json",
    )
    assert response.status_code == 403
    assert "request limit of 11, above your own 10" in response.json()["error"]
    assert not APIKey.objects.filter(name="bot").exists()


def test_create_key_without_a_limit_inherits_one_the_creator_must_cover(
    settings, make_key, client_for
):
    settings.REQUEST_LIMIT = 20
    _, creator = make_key("manager", ["create_key", "get_info"], request_limit=10)
    response = client_for(creator).post(
        "/create_key", {"name": "bot", "permissions": []}, format="json"
    )
    assert response.status_code == 403
    assert "request limit of 20" in response.json()["error"]


def test_a_key_without_a_limit_may_grant_up_to_request_limit(settings, make_key, client_for):
    settings.REQUEST_LIMIT = 20
    _, creator = make_key("manager", ["create_key", "get_info"])
    allowed = {"name": "bot", "permissions": ["get_info"], "request_limit": 20}
    assert client_for(creator).post("/create_key", allowed, format="json").status_code == 201
    above = {"name": "bot2", "permissions": ["get_info"], "request_limit": 21}
    assert client_for(creator).post("/create_key", above, format="json").status_code == 403


def test_delete_key_refuses_a_key_with_permissions_the_caller_lacks(make_key, client_for):
    _, deleter = make_key("deleter", ["delete_key", "get_info"])
    make_key("strong", ["get_info", "get_video"])
    response = client_for(deleter).delete("/delete_key/strong")
    assert response.status_code == 403
    assert "get_video" in response.json()["error"]
    assert APIKey.objects.filter(name="strong").exists()


def test_delete_key_deletes_a_key_the_caller_covers(make_key, client_for):
    _, deleter = make_key("deleter", ["delete_key", "get_info"])
    make_key("weak", ["get_info"])
    assert client_for(deleter).delete("/delete_key/weak").status_code == 200
    assert not APIKey.objects.filter(name="weak").exists()


# Names are unique in their normal form (NFKC, case-folded).


@pytest.mark.parametrize("name", ["Admin", "ＡＤＭＩＮ", "ａｄｍｉｎ"])
def test_create_key_refuses_a_name_equal_to_another_once_normalised(admin_client, name):
    assert APIKey.objects.filter(name="admin").exists()  # seeded on the first migrate
    response = admin_client.post("/create_key", {"name": name, "permissions": []}, format="json")
    assert response.status_code == 409
    assert "already exists" in response.json()["error"]
    assert APIKey.objects.filter(normalized_name="admin").count() == 1


def test_get_and_delete_find_a_key_by_any_spelling_of_its_name(admin_client, make_key):
    _, secret = make_key("Bot", ["get_info"])
    response = admin_client.get("/get_key/ｂｏｔ")
    assert response.status_code == 200
    assert response.json()["name"] == "Bot"
    assert response.json()["key"] == secret
    deleted = admin_client.delete("/delete_key/BOT")
    assert deleted.json() == {"message": "API key deleted successfully", "name": "Bot"}
    assert not APIKey.objects.filter(name="Bot").exists()


def test_a_name_too_long_once_normalised_is_a_400(admin_client):
    # U+FDFA is one character and eighteen once normalised.
    response = admin_client.post(
        "/create_key", {"name": "\ufdfa" * 6, "permissions": []}, format="json"
    )
    assert response.status_code == 400
    assert "normalised" in response.json()["error"]


def test_a_key_with_a_limit_does_not_cover_one_without(make_key, client_for):
    _, reader = make_key("reader", ["get_key", "get_info"], request_limit=10)
    make_key("owner", ["get_info"], request_limit=0)
    response = client_for(reader).get("/get_key/owner")
    assert response.status_code == 403
    assert "no request limit, above your own 10" in response.json()["error"]
