"""docker-compose.yml as compose resolves it from a .env: the API published on loopback
unless PUBLISH_ADDRESS opens it, and Redis behind a password that the app's REDIS_URL
carries. Resolved with podman-compose's own interpolation (scripts/container-check.sh runs
the file through podman-compose), without starting anything."""

from pathlib import Path

import pytest
import yaml
from podman_compose import rec_subs

REPO = Path(__file__).resolve().parents[2]
REQUIRED = {"SECRET_KEY": "s3cret", "POSTGRES_PASSWORD": "pgpass", "REDIS_PASSWORD": "r3dispass"}


def resolved(**env: str) -> dict:
    """docker-compose.yml with `env` as its .env."""
    return rec_subs(yaml.safe_load((REPO / "docker-compose.yml").read_text()), env)


def test_the_api_is_published_on_loopback_by_default():
    assert resolved(**REQUIRED)["services"]["web"]["ports"] == ["127.0.0.1:5000:5000"]


def test_publish_address_and_port_open_it_elsewhere():
    web = resolved(**REQUIRED, PUBLISH_ADDRESS="0.0.0.0", PORT="8080")["services"]["web"]
    assert web["ports"] == ["0.0.0.0:8080:5000"]


def test_redis_requires_the_password_that_the_app_uses():
    services = resolved(**REQUIRED)["services"]
    command = services["redis"]["command"]
    assert command[command.index("--requirepass") + 1] == "r3dispass"
    # Its healthcheck's redis-cli reads the password from REDISCLI_AUTH.
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == "r3dispass"
    for role in ("web", "worker"):
        assert services[role]["environment"]["REDIS_URL"] == "redis://:r3dispass@redis:6379/0"


def test_compose_refuses_to_start_without_a_redis_password():
    env = {name: value for name, value in REQUIRED.items() if name != "REDIS_PASSWORD"}
    with pytest.raises(ValueError, match="REDIS_PASSWORD"):
        resolved(**env)


def test_env_example_asks_for_the_redis_password():
    lines = (REPO / ".env.example").read_text().splitlines()
    assert "REDIS_PASSWORD=" in lines
