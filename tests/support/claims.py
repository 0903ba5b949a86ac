"""Claims racing each other, for the tests of a cap that must hold under concurrency (a
key's MAX_TASKS_PER_KEY, a site's SITE_CONCURRENCY). Needs a test database with
transactions (`@pytest.mark.django_db(transaction=True)`): each claim runs on a thread of
its own, with a connection of its own."""

import threading
import time

from django.db import connection

from downloads_app import lifecycle


def slowed(monkeypatch, module, name: str) -> None:
    """Make `module.name`, a count that a claim makes before it claims, take 50 ms longer:
    it widens the window between counting and claiming, where a race would sit."""
    count = getattr(module, name)

    def slow_count(*args):
        counted = count(*args)
        time.sleep(0.05)
        return counted

    monkeypatch.setattr(module, name, slow_count)


def claim_at_once(task_ids: list[str]) -> list:
    """task_claim of each task, all let go at the same moment; what each returned."""
    start = threading.Barrier(len(task_ids))
    claimed = []

    def claim(task_id):
        try:
            start.wait()
            claimed.append(lifecycle.task_claim(task_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return claimed
