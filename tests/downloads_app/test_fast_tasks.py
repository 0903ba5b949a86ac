"""GET /tasks off Django's request cycle (downloads_app/fast_routes/tasks.py) answers
exactly what TaskListView answers, leaves every other case to it, and a page body kept
under its ETag (listing.rendered_task_page) is the body the view would serialize again.

Compared with the view through the real entry point, for every credential and request
shape, in tests/ytdlphost/test_fast_path_equivalence.py; here, what a unit shows."""

import pytest
from django.test import Client
from django.utils import timezone

from downloads_app.fast_routes.tasks import task_list_answer
from downloads_app.listing import rendered_task_page
from downloads_app.models import Task, WebhookDelivery
from tests.support.fast_answers import assert_same_answer, fast_request

pytestmark = pytest.mark.django_db


def make_task(api_key, **fields):
    return Task.objects.create(
        api_key=api_key, task_type="get_video", url="http://example.com/v", **fields
    )


def tasks_request(secret, query=None, headers=None):
    return fast_request({}, query, {"x-api-key": secret, **(headers or {})})


def fresh_page(client, path="/tasks"):
    """The view's answer with no page kept: serialized from the rows."""
    rendered_task_page.cache_clear()
    return client.get(path)


@pytest.fixture
def listed(user):
    make_task(user[0], status="processing", downloaded_bytes=5, total_bytes=20)
    make_task(
        user[0], status="completed", file_name="v.mp4", title="Ünïcode title",
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    return user


def test_the_fast_page_is_the_views_page_byte_for_byte(listed, user_client):
    answer = task_list_answer(tasks_request(listed[1]))
    assert_same_answer(answer, fresh_page(user_client), "tasks")
    assert answer.status == 200 and len(answer.json_body()["tasks"]) == 2
    assert [task.get("expires_at") is not None for task in answer.json_body()["tasks"]] == [
        True, False,
    ]  # fmt: skip


def test_filters_limit_and_cursor_answer_as_in_the_view(listed, user_client):
    first = user_client.get("/tasks?limit=1").json()
    query = {"limit": "1", "cursor": first["next"], "status": "processing"}
    answer = task_list_answer(tasks_request(listed[1], query))
    path = f"/tasks?limit=1&cursor={first['next']}&status=processing"
    assert_same_answer(answer, fresh_page(user_client, path), "tasks")


@pytest.mark.parametrize(
    "query", [{"all": "true"}, {"limit": "0"}, {"status": "bogus"}, {"cursor": "x"}, {"x": "1"}]
)
def test_refused_queries_are_left_to_the_view(listed, query):
    # all=true without get_keys (403), and the view's 400s.
    assert task_list_answer(tasks_request(listed[1], query)) is None


def test_a_deleted_key_is_refused_on_its_next_fast_request(listed):
    assert task_list_answer(tasks_request(listed[1])) is not None
    listed[0].delete()
    assert task_list_answer(tasks_request(listed[1])) is None


def test_a_kept_page_is_served_again_only_while_its_etag_holds(listed, user_client):
    first = user_client.get("/tasks")
    assert user_client.get("/tasks").content == first.content  # kept
    task = Task.objects.filter(status="processing").get()
    Task.objects.filter(pk=task.pk).update(downloaded_bytes=10)
    changed = user_client.get("/tasks")
    assert changed["ETag"] != first["ETag"]
    assert changed.content == fresh_page(user_client).content


def test_a_renamed_key_changes_the_page_of_all(listed, make_key, client_for):
    _, overseer = make_key("overseer", ["get_keys"])
    client = client_for(overseer)
    before = client.get("/tasks?all=true")
    listed[0].name = "renamed"
    listed[0].save(update_fields=["name"])
    after = client.get("/tasks?all=true")
    assert after["ETag"] != before["ETag"]
    assert {task["key_name"] for task in after.json()["tasks"]} == {"renamed"}


def test_a_delivery_of_the_key_s_own_webhook_url_changes_the_page(listed, user_client):
    # The task has no webhook_url of its own: its key's default URL made the delivery.
    task = Task.objects.get(status="completed")
    delivery = WebhookDelivery.objects.create(
        api_key=listed[0], task_id=task.id, event_type="task.completed",
        url="http://example.com/hook", payload="{}", state="pending", attempts=0,
    )  # fmt: skip
    before = user_client.get("/tasks")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="delivered", attempts=1)
    after = user_client.get("/tasks", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    shown = {entry["task_id"]: entry for entry in after.json()["tasks"]}
    assert shown[task.id]["webhook"] == {"state": "delivered", "attempts": 1}
    assert after.content == fresh_page(user_client).content


def signed_in(secret) -> Client:
    """The web page's client: signed in with `secret`, carrying its session cookie."""
    browser = Client(enforce_csrf_checks=True)
    browser.get("/")
    token = browser.cookies["csrftoken"].value
    assert (
        browser.post("/sign_in", {"key": secret, "csrfmiddlewaretoken": token}).status_code == 302
    )
    return browser


def session_request(browser, headers=None):
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in browser.cookies.items())
    return fast_request({}, {"limit": "50"}, {"cookie": cookie, **(headers or {})})


def test_a_session_s_page_and_304_are_the_view_s_byte_for_byte(listed, same_expires):
    browser = signed_in(listed[1])
    answer = task_list_answer(session_request(browser))
    rendered_task_page.cache_clear()
    view = browser.get("/tasks?limit=50")
    assert_same_answer(answer, view, "tasks")
    assert answer.headers and len(answer.json_body()["tasks"]) == 2
    etag = {"if-none-match": view["ETag"]}
    unchanged = task_list_answer(session_request(browser, etag))
    assert unchanged.status == 304
    assert_same_answer(
        unchanged, browser.get("/tasks?limit=50", HTTP_IF_NONE_MATCH=view["ETag"]), "tasks"
    )


def test_a_session_whose_key_is_gone_or_whose_csrf_cookie_is_malformed_is_left_to_the_view(
    listed,
):
    browser = signed_in(listed[1])
    browser.cookies["csrftoken"] = "not a token"  # the view answers with a new one
    assert task_list_answer(session_request(browser)) is None
    browser = signed_in(listed[1])
    listed[0].delete()  # the view signs the session out
    assert task_list_answer(session_request(browser)) is None
