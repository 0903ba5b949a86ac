"""PostgreSQL and Redis for the end-to-end tests that run the stack on them.

scripts/test-services.sh starts throwaway servers and prints TEST_POSTGRES_URL and
TEST_REDIS_URL (.ci/run does this); without them these tests are skipped.
"""

import contextlib
import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")

SKIP_REASON = (
    "PostgreSQL + Redis tests need TEST_POSTGRES_URL and TEST_REDIS_URL: "
    'run eval "$(scripts/test-services.sh start)" first (.ci/run does)'
)


def require_postgres_and_redis() -> None:
    if not (POSTGRES_URL and REDIS_URL):
        pytest.skip(SKIP_REASON)


@contextlib.contextmanager
def fresh_postgres_and_redis(redis_db: int) -> Iterator[dict[str, str]]:
    """Environment for a LiveStack on a new, empty PostgreSQL database (dropped afterwards)
    and Redis database `redis_db` (emptied before and after)."""
    import psycopg
    import redis
    from psycopg import sql

    require_postgres_and_redis()
    name = f"ytdlphost_e2e_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    redis_url = urlsplit(REDIS_URL)._replace(path=f"/{redis_db}").geturl()
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield {
            "DATABASE_URL": urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl(),
            "REDIS_URL": redis_url,
        }
    finally:
        client.flushdb()
        client.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
