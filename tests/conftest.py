"""Shared fixtures: settings on a temporary SQLite file (or Postgres), the app, clients, the
LM Studio simulator on an ephemeral loopback port, and keys for each role.

`--db=postgres` (or ``BIGSHOT_TEST_DATABASE=postgres``) runs every test that uses the default
`database_url` on a fresh Postgres database of its own instead of SQLite; `make test` runs the
database-heavy folders a second time that way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bigshot_llm.main import create_app
from bigshot_llm.settings import Settings
from tests.support.services import temporary_postgres_database

ADMIN_KEY = "bsk_test-admin-key-0123456789abcdefghijklmnopqrstuv"


TEST_DEPENDENCY_TIMEOUTS: dict[str, float] = {
    "db_connect_timeout": 30.0,
    "db_statement_timeout": 60.0,
    "db_pool_timeout": 30.0,
    "redis_socket_timeout": 10.0,
}
# What a gateway runs with when nobody sets them (the outage tests use these).
DEFAULT_DEPENDENCY_TIMEOUTS: dict[str, float] = {
    name: Settings.model_fields[name].default for name in TEST_DEPENDENCY_TIMEOUTS
}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "bootstrap_admin_key": ADMIN_KEY,
        "secret_key": "test-secret-key",
        "lmstudio_api_base": "http://127.0.0.1:9/v1",  # discard port: nothing listens
        "retry_attempts": 0,
        "shutdown_grace_seconds": 0,  # closing a test app cancels its streams at once
        # The production bounds (a few seconds, 300 ms for Redis) are for a healthy server; a
        # test machine running other suites can take longer than that for a healthy answer.
        # The outage tests (tests/reliability) put the defaults back to test them.
        **TEST_DEPENDENCY_TIMEOUTS,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default=os.environ.get("BIGSHOT_TEST_DATABASE") or "sqlite",
        help="the database behind the default database_url fixture "
        "(env BIGSHOT_TEST_DATABASE; default sqlite)",
    )


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database; tests may parametrize it (indirect) with "sqlite" or "postgres"."""
    kind = getattr(request, "param", None) or request.config.getoption("--db")
    if kind == "postgres":
        async with temporary_postgres_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def sim() -> Iterator[Any]:
    from bigshot_llm.sim.testing import running_sim

    with running_sim() as server:
        yield server


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for the `app` fixture."""
    return {}


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, sim: Any, settings_overrides: dict[str, Any]
) -> Settings:
    values = {
        "database_url": database_url,
        "lmstudio_api_base": f"{sim.url}/v1",
        # Like the default's LM Studio port on loopback, but for the simulator's port.
        "allowed_upstream_hosts": f"127.0.0.1:{sim.port},localhost:{sim.port}",
    }
    values.update(settings_overrides)
    return make_settings(tmp_path, **values)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return auth(ADMIN_KEY)


async def create_user_key(client: httpx.AsyncClient, name: str, role: str = "user") -> str:
    response = await client.post(
        "/api/v1/keys",
        json={"name": f"{name}-key", "user": name, "role": role},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["key"])


@pytest.fixture
async def user_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return auth(await create_user_key(client, "alice"))


@pytest.fixture
async def other_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return auth(await create_user_key(client, "bob"))


MODEL_LISTING = "/api/v1/llm-providers/models"


async def learn_models(client: httpx.AsyncClient) -> None:
    """A detailed model listing through the gateway, as any first request makes it: before a
    test arms a one-shot simulator fault meant for the generation (a listing would take it)."""
    listed = await client.get(MODEL_LISTING, params={"detailed": "true"}, headers=auth(ADMIN_KEY))
    assert listed.status_code == 200, listed.text


def learn_models_sync(gateway_url: str) -> None:
    """`learn_models` for tests that drive the gateway with a synchronous SDK client."""
    base = str(gateway_url).rstrip("/").removesuffix("/v1")
    listed = httpx.get(
        base + MODEL_LISTING, params={"detailed": "true"}, headers=auth(ADMIN_KEY), timeout=30
    )
    assert listed.status_code == 200, listed.text
