"""Politeness to each site (downloads_app/sites.py, site_limits.py): what a task's site
is, SITE_CONCURRENCY holding a site's further tasks back across keys, and a site's backoff
after a refusal holding back its waiting tasks until the maintenance resumes them.

The end to end version, with a site that answers 429: tests/e2e/test_site_limits.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from downloads_app import lifecycle, maintenance, site_limits, sites
from downloads_app.metrics import SiteBackoffGauges
from downloads_app.models import Site, Task
from tests.support.claims import claim_at_once, slowed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url, site",
    [
        ("https://www.youtube.com/watch?v=x", "youtube.com"),
        ("https://m.YouTube.com/shorts/x", "youtube.com"),
        ("https://youtu.be/x", "youtu.be"),
        ("http://news.bbc.co.uk/a/b", "bbc.co.uk"),
        ("https://someone.github.io/v.mp4", "someone.github.io"),  # a private suffix's own
        ("https://www.bücher.de/v", "xn--bcher-kva.de"),
        ("https://xn--bcher-kva.de/v", "xn--bcher-kva.de"),
        ("http://127.0.0.1:8000/v.mp4", "127.0.0.1"),
        ("http://[::1]:8000/v.mp4", "::1"),
        ("http://localhost:8000/v.mp4", "localhost"),
        ("http://media.local./v.mp4", "media.local"),
        ("not a url", ""),
    ],
)
def test_a_urls_site_is_its_registrable_domain(url, site):
    assert sites.site_of(url) == site


def test_a_site_takes_its_own_cap_else_the_default_and_none_without_either(settings):
    settings.SITE_CONCURRENCY = {"www.youtube.com": 2, "*": 4}
    assert sites.site_cap("youtube.com") == 2  # a host name counts for its site
    assert sites.site_cap("vimeo.com") == 4
    settings.SITE_CONCURRENCY = {"youtube.com": 2}
    assert sites.site_cap("vimeo.com") is None
    settings.SITE_CONCURRENCY = {}
    assert sites.site_cap("youtube.com") is None


def waiting_task(api_key, url="http://a.example.com/v"):
    return Task.objects.create(api_key=api_key, task_type="get_info", url=url)


@pytest.fixture
def two_keys(user, make_key):
    return user[0], make_key("other", ["get_info"])[0]


def test_a_task_stores_the_site_of_its_url_however_it_is_created(user):
    assert waiting_task(user[0], "https://www.youtube.com/watch?v=x").site == "youtube.com"
    [entry] = Task.objects.bulk_create(
        [Task(api_key=user[0], task_type="get_info", url="https://vimeo.com/1")]
    )  # as a playlist's entries are
    assert Task.objects.get(pk=entry.pk).site == "vimeo.com"


def test_a_claim_beyond_the_sites_cap_leaves_the_task_waiting_whatever_its_key(two_keys, settings):
    settings.SITE_CONCURRENCY = {"example.com": 1}
    first, second = waiting_task(two_keys[0]), waiting_task(two_keys[1])
    assert lifecycle.task_claim(first.id).status == "processing"
    assert lifecycle.task_claim(second.id) is None
    second.refresh_from_db()
    assert (second.status, second.deferred, second.attempts) == ("waiting", True, 0)
    # Another site is not held back by it, nor by the `*` it does not have.
    other = waiting_task(two_keys[1], "https://vimeo.com/1")
    assert lifecycle.task_claim(other.id).status == "processing"


def test_when_a_task_ends_its_sites_oldest_deferred_task_is_queued(two_keys, settings, queued):
    settings.SITE_CONCURRENCY = {"*": 1}
    running = lifecycle.task_claim(waiting_task(two_keys[0]).id)
    deferred = [waiting_task(two_keys[1]) for _ in range(2)]
    assert [lifecycle.task_claim(task.id) for task in deferred] == [None, None]
    lifecycle.task_finish(running, "completed", file_name="info.json")
    assert lifecycle.dispatch_next_waiting(running.api_key_id, running.site) == 1
    assert queued == [deferred[0].id]  # of the other key: the site's slot freed
    assert lifecycle.task_claim(deferred[0].id).status == "processing"


def test_a_keys_free_slot_goes_to_a_task_its_site_lets_start(user, settings, queued):
    settings.MAX_TASKS_PER_KEY, settings.SITE_CONCURRENCY = 2, {"busy.com": 1}
    lifecycle.task_claim(waiting_task(user[0], "http://busy.com/1").id)
    running = lifecycle.task_claim(waiting_task(user[0], "http://calm.com/1").id)
    held_by_site = waiting_task(user[0], "http://busy.com/2")
    held_by_key = waiting_task(user[0], "http://calm.com/2")
    assert lifecycle.task_claim(held_by_site.id) is None
    assert lifecycle.task_claim(held_by_key.id) is None
    lifecycle.task_finish(running, "completed", file_name="info.json")
    # The older of the two still waits for busy.com: the slot goes to the other.
    assert lifecycle.dispatch_next_waiting(user[0].id) == 1
    assert queued == [held_by_key.id]


def test_a_sites_free_slot_goes_to_a_task_whose_key_lets_it_start(two_keys, settings, queued):
    settings.MAX_TASKS_PER_KEY, settings.SITE_CONCURRENCY = 1, {"*": 1}
    busy_key, other_key = two_keys
    lifecycle.task_claim(waiting_task(busy_key, "http://elsewhere.com/1").id)
    running = lifecycle.task_claim(waiting_task(other_key).id)
    held_by_key = waiting_task(busy_key)
    held_by_site = waiting_task(other_key)
    assert lifecycle.task_claim(held_by_key.id) is None
    lifecycle.task_finish(running, "completed", file_name="info.json")
    Task.objects.filter(pk=held_by_site.pk).update(deferred=True)  # its claim came earlier
    assert lifecycle.dispatch_for_site("example.com") == 1
    assert queued == [held_by_site.id]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_site_never_exceed_its_cap(make_key, settings, monkeypatch):
    settings.SITE_CONCURRENCY = {"example.com": 2}
    slowed(monkeypatch, site_limits, "running_on")
    # A key each: only the site's cap can hold them back.
    keys = [make_key(f"key-{n}", ["get_info"])[0] for n in range(6)]
    claimed = claim_at_once([waiting_task(api_key).id for api_key in keys])
    assert len([task for task in claimed if task is not None]) == 2
    assert Task.objects.filter(status="processing").count() == 2


@pytest.mark.parametrize(
    "refusals, retry_after, seconds",
    [(1, None, 60), (2, None, 120), (4, None, 480), (7, None, 3600), (100, None, 3600),
     (1, 3, 3), (5, 3, 3), (1, 86400, 3600), (1, -5, 0)],
)  # fmt: skip
def test_a_backoff_doubles_from_a_minute_unless_the_site_said_and_is_cut_at_an_hour(
    refusals, retry_after, seconds
):
    assert site_limits.backoff_seconds(refusals, retry_after) == seconds


def test_refusals_in_a_row_back_off_longer_and_a_completion_starts_over(settings):
    now = timezone.now()
    assert site_limits.record_refusal("a.com", None, now).backoff_until == now + timedelta(
        seconds=60
    )
    # Refused again by a task that started before the backoff: not one more in a row.
    assert site_limits.record_refusal("a.com", None, now + timedelta(seconds=1)).refusals == 1
    later = now + timedelta(seconds=61)
    row = site_limits.record_refusal("a.com", None, later)
    assert (row.refusals, row.backoff_until) == (2, later + timedelta(seconds=120))
    site_limits.record_completion("a.com")
    assert Site.objects.get(name="a.com").refusals == 0


def test_a_backing_off_site_holds_its_waiting_tasks_until_the_maintenance_resumes_them(
    two_keys, settings, queued
):
    settings.SITE_CONCURRENCY = {}  # no cap: only the backoff holds them
    refused = lifecycle.task_claim(waiting_task(two_keys[0]).id)
    held = waiting_task(two_keys[1])
    site_limits.record_refusal("example.com", 3, timezone.now())
    assert lifecycle.task_claim(held.id) is None
    lifecycle.task_finish(refused, "error", error="The site refused")
    assert lifecycle.dispatch_next_waiting(refused.api_key_id, refused.site) == 0
    assert maintenance.resume_sites() == {"resumed_after_backoff": 0}  # not over yet
    assert queued == []
    Site.objects.filter(name="example.com").update(backoff_until=timezone.now())  # 3 s later
    assert maintenance.resume_sites() == {"resumed_after_backoff": 1}
    assert maintenance.resume_sites() == {"resumed_after_backoff": 0}  # resumed once
    assert queued == [held.id]
    assert lifecycle.task_claim(held.id).status == "processing"
    assert Task.objects.get(pk=refused.pk).status == "error"


def test_healthz_and_metrics_show_the_sites_backing_off_and_until_when(client):
    now = timezone.now()
    until = site_limits.record_refusal("youtube.com", 90, now).backoff_until
    site_limits.record_refusal("gone.com", 5, now - timedelta(seconds=10))  # over
    body = client.get("/healthz?skip=workers").json()
    assert body["status"] == "ok"  # being polite is not failing
    assert body["checks"]["sites"] == {
        "ok": True,
        "backing_off": [
            {"site": "youtube.com", "until": until.isoformat(timespec="seconds"), "refusals": 1}
        ],
    }
    samples = {
        (sample.name, sample.labels["site"]): sample.value
        for family in SiteBackoffGauges().collect()  # as /metrics collects it
        for sample in family.samples
    }  # fmt: skip
    assert samples == {
        ("ytdlphost_site_backoff_until_seconds", "youtube.com"): until.timestamp(),
        ("ytdlphost_site_refusals", "youtube.com"): 1,
    }


def test_the_cleanup_forgets_sites_with_nothing_to_hold_back(user, settings):
    now = timezone.now()
    Site.objects.create(name="idle.com")
    Site.objects.create(name="busy.com")
    waiting_task(user[0], "http://busy.com/1")
    site_limits.record_refusal("refusing.com", 3, now - timedelta(seconds=10))
    assert site_limits.forget_idle_sites(now) == 1
    assert set(Site.objects.values_list("name", flat=True)) == {"busy.com", "refusing.com"}
    # Its refusals in a row are forgotten once it has been quiet for SITE_BACKOFF_MAX.
    assert site_limits.forget_idle_sites(now + timedelta(seconds=3601)) == 1


@pytest.mark.parametrize(
    "error_code, retry_after, backoff",
    [
        ("rate_limited", 3, 3),  # the site's Retry-After
        ("rate_limited", 60, 120),  # only what the code implies: doubled, the second time
        ("bot_check", None, 120),
        ("not_found", None, None),  # not a refusal
    ],
)
def test_a_task_ending_refused_backs_its_site_off(user, error_code, retry_after, backoff):
    earlier = timezone.now() - timedelta(hours=1)
    Site.objects.create(name="example.com", refusals=1, refused_at=earlier, backoff_until=earlier)
    task = lifecycle.task_claim(waiting_task(user[0]).id)
    lifecycle.task_finish(task, "error", error="No", error_code=error_code, retry_after=retry_after)
    row = Site.objects.get(name="example.com")
    if backoff is None:
        assert row.backoff_until == earlier
    else:
        assert row.backoff_until == task.finished_at + timedelta(seconds=backoff)


def test_a_task_completing_ends_its_sites_refusals_in_a_row(user):
    Site.objects.create(name="example.com", refusals=3)
    task = lifecycle.task_claim(waiting_task(user[0]).id)
    lifecycle.task_finish(task, "completed", file_name="info.json")
    assert Site.objects.get(name="example.com").refusals == 0


def test_a_cap_for_a_public_suffix_is_a_system_check_warning(settings):
    from downloads_app.checks import site_caps_name_sites

    settings.SITE_CONCURRENCY = {"co.uk": 1, "github.io": 1, "bbc.co.uk": 1, "nas": 1, "*": 2}
    warnings = site_caps_name_sites(None)
    assert [warning.msg.split(",")[0] for warning in warnings] == [
        "SITE_CONCURRENCY names co.uk",
        "SITE_CONCURRENCY names github.io",
    ]
