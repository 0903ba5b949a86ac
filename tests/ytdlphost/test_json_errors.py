"""Every error is JSON with an `error` string, whatever produced it."""

import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_route_is_a_json_404(client):
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_a_wrong_method_is_a_json_405(admin_client):
    response = admin_client.get("/create_key")
    assert response.status_code == 405
    assert "not allowed" in response.json()["error"]


def test_malformed_json_is_a_json_400_saying_where(admin_client):
    response = admin_client.post(
        "/create_key", data='{"name": "x",', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "Malformed JSON body: Expecting property name enclosed in double quotes "
        "at line 1, column 14"
    }


def test_malformed_json_on_a_later_line_names_that_line_and_column(admin_client):
    body = '{\n  "name": "x",\n  "permissions": [get_info]\n}'
    response = admin_client.post("/create_key", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"].endswith("at line 3, column 19")


def test_a_charset_that_is_no_text_encoding_is_a_json_400(admin_client):
    response = admin_client.post(
        "/check_permissions",
        data='{"permissions": []}',
        content_type="application/json; charset=base64",
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Malformed JSON body"}


def test_a_non_json_body_is_a_json_415(admin_client):
    response = admin_client.post("/create_key", data="name=x", content_type="text/plain")
    assert response.status_code == 415
    assert "JSON" in response.json()["error"]


def test_a_json_array_body_is_a_json_400(admin_client):
    response = admin_client.post("/create_key", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_an_oversized_body_is_a_json_413(admin_client, settings):
    body = '{"name": "x", "permissions": [], "pad": "' + "a" * 100_000 + '"}'
    response = admin_client.post("/create_key", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_deeply_nested_json_is_a_json_400(admin_client):
    body = "[" * 50_000 + "]" * 50_000
    response = admin_client.post("/check_permissions", data=body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert isinstance(response.json()["error"], str)


def test_an_unexpected_exception_is_a_json_500_without_details(admin_client, monkeypatch, caplog):
    from keys_app import views

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.APIKey.objects, "all", explode)
    response = admin_client.get("/get_keys")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    assert "secret internals" in caplog.text  # logged for the operator, not sent
