import pytest

pytestmark = pytest.mark.django_db

KEY_ENDPOINTS = [
    ("post", "/create_key", "create_key"),
    ("delete", "/delete_key/someone", "delete_key"),
    ("get", "/get_key/someone", "get_key"),
    ("get", "/get_keys", "get_keys"),
]


@pytest.mark.parametrize(("method", "path", "_"), KEY_ENDPOINTS)
def test_a_request_without_a_key_is_401(client_for, method, path, _):
    response = getattr(client_for(), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json() == {"error": "No API key provided"}


@pytest.mark.parametrize(("method", "path", "_"), KEY_ENDPOINTS)
def test_a_request_with_an_unknown_key_is_401(client_for, method, path, _):
    response = getattr(client_for("not-a-key"), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API key"}


@pytest.mark.parametrize(("method", "path", "permission"), KEY_ENDPOINTS)
def test_a_key_without_the_endpoint_permission_is_403_naming_it(
    make_key, client_for, method, path, permission
):
    from keys_app.models import PERMISSIONS

    _, secret = make_key("limited", [p for p in PERMISSIONS if p != permission])
    response = getattr(client_for(secret), method)(path, {}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": f"Insufficient permissions: needs {permission}"}


def test_check_permissions_needs_a_key(client_for):
    response = client_for().post("/check_permissions", {"permissions": []}, format="json")
    assert response.status_code == 401


def test_using_a_key_records_its_last_use(make_key, client_for):
    api_key, secret = make_key("bot", ["get_info"])
    assert api_key.last_used_at is None
    client_for(secret).post("/check_permissions", {"permissions": []}, format="json")
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
