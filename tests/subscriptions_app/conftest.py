import pytest
from django.utils import timezone

from subscriptions_app import checks
from subscriptions_app.models import Subscription
from tests.support.media_server import MediaServer
from tests.support.playlists import write_feed, write_page


class GrowingList:
    """A feed or page on 127.0.0.1 whose entries a test changes between checks: newest
    first, as channels and feeds list them. Each entry is the session's media under a
    query string of its own (a URL of its own)."""

    def __init__(self, server: MediaServer, media_url: str, name: str):
        self.server, self.media_url, self.name = server, media_url, name
        self.entries: list[str] = []

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def entry_url(self, entry: str) -> str:
        return f"{self.media_url}?{entry}"

    def show(self, *entries: str) -> "GrowingList":
        """List these entries, in this order, from now on."""
        self.entries = list(entries)
        if self.name.endswith(".rss"):
            episodes = [(entry, self.entry_url(entry)) for entry in entries]
            write_feed(self.server.root, self.name, "A channel", episodes)
        else:
            urls = [self.entry_url(entry) for entry in entries]
            write_page(self.server.root, self.name, "A channel", urls)
        return self

    def publish(self, entry: str) -> "GrowingList":
        """A new entry, at the top."""
        return self.show(entry, *self.entries)


@pytest.fixture(scope="module")
def list_server(tmp_path_factory):
    with MediaServer(tmp_path_factory.mktemp("subscriptions")) as server:
        yield server


@pytest.fixture
def feed(list_server, progressive_url, request):
    return GrowingList(list_server, progressive_url, f"{request.node.name}.rss")


@pytest.fixture
def page(list_server, progressive_url, request):
    return GrowingList(list_server, progressive_url, f"{request.node.name}.html")


@pytest.fixture
def subscriber(make_key):
    """A key that may subscribe to videos."""
    return make_key("subscriber", ["subscribe", "get_video"])


@pytest.fixture
def subscriber_client(subscriber, client_for):
    return client_for(subscriber[1])


@pytest.fixture
def subscribe(subscriber_client, django_capture_on_commit_callbacks):
    """subscribe(url, **fields) -> the 201 body, every queued task run (sync django-q2)
    or, with the `queued` fixture, only queued."""

    def post(url, client=None, **fields):
        body = {"url": url, "task_type": "get_video", **fields}
        with django_capture_on_commit_callbacks(execute=True):
            response = (client or subscriber_client).post("/subscriptions", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return post


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    """check(subscription_id): make it due and check it, as the schedule's worker would."""

    def run(subscription_id):
        Subscription.objects.filter(pk=subscription_id).update(next_check_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            checks.check(subscription_id)
        return Subscription.objects.get(pk=subscription_id)

    return run
