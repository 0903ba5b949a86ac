"""`GET /tasks?wait=S` as the web page sends it (signed in by its session), through the
ASGI application gunicorn runs: answered by the fast route, not by Django's view at each
wake; woken only by a change of its own key's tasks; and refused beyond
MAX_TASK_LIST_WAITERS parked waiters of one key, or of one session."""

import asyncio
from collections import Counter

import pytest
from django.test import Client

from downloads_app.fast_routes import tasks as task_list_route
from downloads_app.models import Task
from tests.support.asgi import asgi_get, eventually
from ytdlphost import fast_path

pytestmark = pytest.mark.django_db(transaction=True)  # the pool's threads read the rows

PAGE = "/tasks?limit=50"


@pytest.fixture
def application():
    from ytdlphost.asgi import application

    return application


@pytest.fixture(autouse=True)
def own_shutdown_event(monkeypatch):
    """Each test runs its own event loop (asyncio.run), and an asyncio.Event is bound to
    the loop that first waited on it: the worker's shutdown event starts afresh."""
    monkeypatch.setattr(fast_path, "_shutting_down", None)


@pytest.fixture
def evaluations(monkeypatch):
    """How often each caller's long poll was evaluated (first, and at each wake), by its
    Cookie header; and, under "django", how many of those Django's view answered."""
    counted = Counter()
    evaluate, captured_answer = fast_path.Application.evaluate, fast_path.captured_answer

    async def counting_evaluate(self, scope, request):
        counted[request.headers.get("cookie")] += 1
        return await evaluate(self, scope, request)

    async def counting_captured_answer(application, scope):
        counted["django"] += 1
        return await captured_answer(application, scope)

    monkeypatch.setattr(fast_path.Application, "evaluate", counting_evaluate)
    monkeypatch.setattr(fast_path, "captured_answer", counting_captured_answer)
    return counted


class Page:
    """A web page signed in with `secret`: its session, and the ETag of its list."""

    def __init__(self, secret: str):
        self.browser = Client(enforce_csrf_checks=True)
        self.browser.get("/")
        token = self.browser.cookies["csrftoken"].value
        signed_in = self.browser.post("/sign_in", {"key": secret, "csrfmiddlewaretoken": token})
        assert signed_in.status_code == 302
        self.cookie = "; ".join(f"{name}={c.value}" for name, c in self.browser.cookies.items())
        self.etag = self.browser.get(PAGE)["ETag"]

    def long_poll(self, application, seconds: float = 30):
        headers = {"cookie": self.cookie, "if-none-match": self.etag}
        return asyncio.ensure_future(asgi_get(application, f"{PAGE}&wait={seconds:g}", headers))


def make_task(api_key) -> Task:
    return Task.objects.create(
        api_key=api_key,
        task_type="get_video",
        url="http://example.com/v",
        status="processing",
        downloaded_bytes=0,
    )


def progress(task: Task) -> None:
    Task.objects.filter(pk=task.pk).update(downloaded_bytes=task.downloaded_bytes + 100)


def parked() -> int:
    """Futures of the list's poller: one per waiter parked on it."""
    return sum(len(futures) for futures in task_list_route.task_list_poller.waiters.values())


def test_a_session_long_poll_is_answered_by_the_fast_route_as_the_view_answers(
    application, evaluations, make_key, same_expires
):
    api_key, secret = make_key("page", ["get_video"])
    task = make_task(api_key)
    page = Page(secret)

    async def scenario():
        waiter = page.long_poll(application)
        await eventually(lambda: parked() == 1, "the page's long poll parks")
        await asyncio.to_thread(progress, task)
        return await waiter

    answer = asyncio.run(scenario())
    view = page.browser.get(PAGE)
    assert answer.status == view.status_code == 200
    assert answer.body == view.content
    assert answer.headers == {name.lower(): value for name, value in view.headers.items()}
    assert evaluations["django"] == 0  # neither its first answer nor its wake


def settled(evaluations: Counter, waiters: int, monkeypatch):
    """A condition: `waiters` parked, and two checks of the poller in a row that woke none
    of them (so the first check's wake, for a list it had never seen, is behind us)."""
    checks = Counter()
    poller = task_list_route.task_list_poller
    check = poller.check

    def counting_check(keys):
        checks["checks"] += 1
        return check(keys)

    monkeypatch.setattr(poller, "check", counting_check)
    seen = {"checks": -1, "evaluations": None}

    def condition() -> bool:
        now = sum(evaluations.values())
        if parked() != waiters or now != seen["evaluations"]:
            seen.update(checks=checks["checks"], evaluations=now)
            return False
        return checks["checks"] >= seen["checks"] + 2

    return condition


def test_a_change_to_one_key_s_tasks_wakes_only_that_key_s_waiters(
    application, evaluations, make_key, monkeypatch
):
    changed_key, changed_secret = make_key("changed", ["get_video"])
    quiet_key, quiet_secret = make_key("quiet", ["get_video"])
    changed_task = make_task(changed_key)
    make_task(quiet_key)
    changed_page, quiet_page = Page(changed_secret), Page(quiet_secret)

    async def scenario():
        changed_waiter = changed_page.long_poll(application)
        quiet_waiter = quiet_page.long_poll(application)
        await eventually(settled(evaluations, 2, monkeypatch), "both pages parked, and settled")
        quiet_before = evaluations[quiet_page.cookie]
        await asyncio.to_thread(progress, changed_task)
        assert (await changed_waiter).status == 200
        assert not quiet_waiter.done()
        quiet_waiter.cancel()
        return evaluations[quiet_page.cookie] - quiet_before

    assert asyncio.run(scenario()) == 0


def test_waiters_beyond_the_cap_of_their_session_or_key_are_refused_with_429(
    application, evaluations, make_key, monkeypatch, settings
):
    settings.MAX_TASK_LIST_WAITERS = 2
    api_key, secret = make_key("crowded", ["get_video"])
    other_key, other_secret = make_key("elsewhere", ["get_video"])
    make_task(api_key)
    make_task(other_key)
    page, second_page, other_page = Page(secret), Page(secret), Page(other_secret)

    async def scenario():
        waiters = [page.long_poll(application), page.long_poll(application)]
        await eventually(settled(evaluations, 2, monkeypatch), "the session's two parked")
        evaluated_before = evaluations[page.cookie]
        over_session = await page.long_poll(application)
        refused_unevaluated = evaluations[page.cookie] == evaluated_before
        over_key = await second_page.long_poll(application)  # another session, same key
        other = other_page.long_poll(application)  # another key's waiter still parks
        await eventually(lambda: parked() == 3, "another key's waiter parked")
        for waiter in [*waiters, other]:
            waiter.cancel()
        return over_session, refused_unevaluated, over_key

    over_session, refused_unevaluated, over_key = asyncio.run(scenario())
    for refused in (over_session, over_key):
        assert refused.status == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "at most 2 at once" in fast_path.Answer(429, refused.body).json_body()["error"]
    assert refused_unevaluated  # the session at its cap cost no query
