import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from keys_app.models import APIKey

BEFORE = [("keys_app", "0001_initial")]
AFTER = [("keys_app", "0004_unique_normalized_name")]


@pytest.fixture
def old_apikey_model(transactional_db):
    """The APIKey model before names had a normal form; the schema migrates back to it,
    and forward again after the test."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps.get_model("keys_app", "APIKey")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate_forward():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)


def test_existing_names_get_their_normal_form_and_clashes_are_renamed(old_apikey_model):
    old_apikey_model.objects.all().delete()  # the seeded admin key
    for index, name in enumerate(["admin", "Bob", "Admin", "ａｄｍｉｎ", "admin-2"]):
        old_apikey_model.objects.create(
            name=name, key_digest=f"{index:064d}", key_encrypted="sealed", permissions=[]
        )
    migrate_forward()
    names = dict(APIKey.objects.values_list("key_digest", "name"))
    # The oldest keeps its name; later clashes take a free name, never one that was held.
    assert [names[f"{index:064d}"] for index in range(5)] == [
        "admin",
        "Bob",
        "Admin-3",
        "ａｄｍｉｎ-4",
        "admin-2",
    ]
    normal = dict(APIKey.objects.values_list("name", "normalized_name"))
    assert normal["Bob"] == "bob"
    assert normal["ａｄｍｉｎ-4"] == "admin-4"
