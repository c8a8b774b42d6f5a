"""Postgres going away under a running gateway: LLM calls with known keys and provider configs
keep working, whatever needs the database gets a quick 503 `database_unavailable`, every
failure is an HTTP answer (never a dropped connection), and the gateway recovers unaided.

The database is the shared local Postgres (a fresh database of the test's own) behind a fault
proxy: `cut()` is a restart seen from the gateway (connections reset, new ones refused),
`blackhole` a network that swallows packets (connections accepted, nothing answered).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.reliability.dependencies import (
    CLIENT_TIMEOUT,
    HEALTHY,
    LLM_HEALTHY,
    gateway,
    llm_traffic,
    traffic,
    user_key,
)
from tests.reliability.helpers import ADMIN, NATIVE_CHAT, OPENAI_CHAT, chat_body
from tests.support.fault_proxy import FaultProxy, wait_until
from tests.support.redis_server import OwnRedis
from tests.support.servers import ThreadedServer
from tests.support.services import PG_HOST, PG_PORT

pytestmark = pytest.mark.timeout(180)

UNKNOWN = {"Authorization": "Bearer bsk_never-issued-key-0123456789abcdefghijklmnopqrstu"}
# The gateway promises a few seconds (connect, statement and pool timeouts, /ready's 1.5 s);
# these bounds leave a busy machine room and still fail the unbounded 60-95 s waits.
READY_SECONDS = 10.0
WRITE_SECONDS = 25.0


@contextmanager
def proxied_gateway(
    tmp_path: Path, sim: Any, postgres_url: str, **overrides: Any
) -> Iterator[tuple[FaultProxy, ThreadedServer, httpx.Client]]:
    with FaultProxy(PG_PORT, idle_timeout=3600) as proxy:
        proxied = postgres_url.replace(f"{PG_HOST}:{PG_PORT}", f"127.0.0.1:{proxy.port}")
        with (
            gateway(tmp_path, sim, database_url=proxied, **overrides) as server,
            httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client,
        ):
            yield proxy, server, client


def expire_key_cache(server: ThreadedServer) -> None:
    """As if the key cache's 30 s had passed: every cached key must be looked up again."""
    cache = server.config.app.state.resources.auth._cache
    for digest, (_, principal) in list(cache.items()):
        cache[digest] = (0.0, principal)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def assert_database_unavailable(client: httpx.Client) -> None:
    """What needs the database: a 503 naming it, on both APIs, for reads and writes."""
    for path in (NATIVE_CHAT, OPENAI_CHAT):  # a key never seen: cannot be checked now
        answer = client.post(path, json=chat_body("who", stream=False), headers=UNKNOWN)
        assert answer.status_code == 503, answer.text
        assert error_code(answer) == "database_unavailable"
        assert answer.headers.get("Retry-After")
    listing = client.get("/api/v1/keys", headers=ADMIN)
    assert listing.status_code == 503, listing.text
    assert error_code(listing) == "database_unavailable"
    started = time.monotonic()
    write = client.post("/api/v1/keys", json={"name": "during-outage"}, headers=ADMIN)
    assert write.status_code == 503, write.text
    assert error_code(write) == "database_unavailable"
    took = time.monotonic() - started
    assert took < WRITE_SECONDS, f"a write took {took:.1f} s to be refused"


def assert_recovers(client: httpx.Client, user: dict[str, str]) -> None:
    assert wait_until(lambda: client.get("/ready").status_code == 200, timeout=30, interval=0.2)
    assert wait_until(
        lambda: client.get("/api/v1/keys", headers=ADMIN).status_code == 200,
        timeout=30,
        interval=0.2,
    )
    created = client.post("/api/v1/keys", json={"name": "after-outage"}, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert traffic(client, ADMIN) == HEALTHY
    assert llm_traffic(client, user) == LLM_HEALTHY


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "ordinary-path"])
def test_refused_postgres_keeps_known_keys_working_past_the_cache(
    tmp_path: Path, sim: Any, postgres_url: str, fast_path: bool
) -> None:
    with proxied_gateway(tmp_path, sim, postgres_url, fast_path=fast_path) as (
        proxy,
        server,
        client,
    ):
        user = user_key(client)
        assert traffic(client, ADMIN) == HEALTHY  # caches the keys and the configs
        assert llm_traffic(client, user) == LLM_HEALTHY

        proxy.cut()  # the database restarts: connections reset, new ones refused
        assert client.get("/ready").status_code == 503
        expire_key_cache(server)  # an outage longer than the key cache
        for headers in (ADMIN, user):
            assert llm_traffic(client, headers) == LLM_HEALTHY  # the last known key and config
        assert_database_unavailable(client)
        expire_key_cache(server)
        assert llm_traffic(client, user) == LLM_HEALTHY

        proxy.restore()  # the database is back: no restart of the gateway
        assert_recovers(client, user)


def test_blackholed_postgres_answers_within_bounds(
    tmp_path: Path, sim: Any, postgres_url: str
) -> None:
    with proxied_gateway(tmp_path, sim, postgres_url) as (proxy, server, client):
        user = user_key(client)
        assert traffic(client, ADMIN) == HEALTHY
        assert llm_traffic(client, user) == LLM_HEALTHY
        resources = server.config.app.state.resources

        # The once-a-minute "last used" write of each key falls in the outage: it must not
        # hold the request.
        resources.auth._last_used.clear()
        outage_began = datetime.now(UTC)
        proxy.configure(blackhole=True)  # open connections hang, new ones are never answered
        started = time.monotonic()
        ready = client.get("/ready")
        took = time.monotonic() - started
        assert ready.status_code == 503, ready.text
        assert took < READY_SECONDS, f"/ready took {took:.1f} s"
        for headers in (ADMIN, user):
            assert llm_traffic(client, headers) == LLM_HEALTHY
        expire_key_cache(server)
        for headers in (ADMIN, user):
            assert llm_traffic(client, headers) == LLM_HEALTHY
        assert_database_unavailable(client)

        outage_ended = datetime.now(UTC)
        proxy.configure()  # the network heals
        assert_recovers(client, user)

        def used_during_the_outage() -> bool:
            """The last use queued in the outage reached the database in the background."""
            keys = client.get("/api/v1/keys", headers=ADMIN).json()["data"]
            (used,) = [k["last_used_at"] for k in keys if k["name"] == "dependency-user"]
            return used is not None and outage_began <= _utc(used) <= outage_ended

        assert wait_until(used_during_the_outage, timeout=30, interval=0.2)


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_a_bus_resync_in_a_database_outage_keeps_the_last_known_state(
    tmp_path: Path, sim: Any, postgres_url: str, own_redis: OwnRedis
) -> None:
    """Redis reconnecting while Postgres is down makes the replica resync: the provider
    snapshot cannot be reloaded and the keys cannot be checked, so both stay as last known."""
    with proxied_gateway(
        tmp_path, sim, postgres_url, redis_url=own_redis.url, redis_prefix=f"rel-{uuid4().hex[:8]}"
    ) as (proxy, server, client):
        user = user_key(client)
        assert llm_traffic(client, user) == LLM_HEALTHY
        bus = server.config.app.state.resources.cluster.bus
        assert bus is not None

        proxy.cut()
        resyncs = bus.resyncs
        own_redis.stop()
        own_redis.start()  # the bus resubscribes and resyncs
        assert wait_until(lambda: bus.resyncs > resyncs, timeout=30, interval=0.1)
        assert llm_traffic(client, user) == LLM_HEALTHY
        assert llm_traffic(client, ADMIN) == LLM_HEALTHY

        proxy.restore()
        assert_recovers(client, user)


def test_a_locked_sqlite_database_refuses_writes_within_the_statement_timeout(
    tmp_path: Path, sim: Any
) -> None:
    """SQLite's one wait is for another writer's lock: bounded by the statement timeout
    (not SQLite's 30 s), then 503; LLM calls, which write nothing on the request, go on."""
    import sqlite3

    with (
        gateway(tmp_path, sim, db_statement_timeout=1.0) as server,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        assert llm_traffic(client, ADMIN) == LLM_HEALTHY
        database = server.config.app.state.resources.settings.effective_database_url
        holder = sqlite3.connect(database.split(":///", 1)[1], timeout=1)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            started = time.monotonic()
            write = client.post("/api/v1/keys", json={"name": "while-locked"}, headers=ADMIN)
            took = time.monotonic() - started
            assert write.status_code == 503, write.text
            assert error_code(write) == "database_unavailable"
            assert took < WRITE_SECONDS, f"a write waited {took:.1f} s for the lock"
            assert llm_traffic(client, ADMIN) == LLM_HEALTHY
        finally:
            holder.rollback()
            holder.close()
        created = client.post("/api/v1/keys", json={"name": "after-the-lock"}, headers=ADMIN)
        assert created.status_code == 201, created.text
