"""Crash safety: `kill -9` in the middle of admin writes loses nothing that was acknowledged.

The gateway runs as a real process; a client makes admin writes (provider create and update,
key create) at about 50 per second and the process is killed at a random moment, 20 times.
After each kill the database is intact (SQLite: `PRAGMA integrity_check`), every write that
was answered 2xx is there, and the restarted gateway is ready within 5 seconds. The same run
happens on a fresh Postgres database.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bigshot_llm.sim.testing import running_sim
from tests.reliability.helpers import (
    ADMIN,
    READY_WITHIN_SECONDS,
    START_WITHIN_SECONDS,
    GatewayProcess,
    gateway_env,
)
from tests.support.services import temporary_postgres_database

CYCLES = int(os.environ.get("RELIABILITY_CRASH_CYCLES", "20"))
WRITES_PER_SECOND = 50
WRITERS = 2
WRITE_SECONDS = (0.9, 1.5)  # the kill lands at a random moment in this window

# A hang catcher, not a speed target: every cycle may take its whole restart bound on a busy
# machine (twenty restarts there took longer than a fixed 300 s).
pytestmark = pytest.mark.timeout(
    int(START_WITHIN_SECONDS + CYCLES * (READY_WITHIN_SECONDS + max(WRITE_SECONDS) + 10))
)


@dataclass
class Acknowledged:
    """Every write the gateway answered 2xx: what must survive the crash."""

    providers: dict[str, str] = field(default_factory=dict)  # id → acknowledged default_model
    # Values sent after the last acknowledged one: the kill may have cut their answer only.
    in_flight: dict[str, set[str]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    count: int = 0


async def write_until_cancelled(client: httpx.AsyncClient, acked: Acknowledged, seed: int) -> None:
    """One writer: ~WRITES_PER_SECOND / WRITERS writes a second, rotating kinds. A writer only
    updates providers it created, so each provider's updates are ordered."""
    rng = random.Random(seed)
    mine: list[str] = []
    interval = WRITERS / WRITES_PER_SECOND
    while True:
        started = time.monotonic()
        kind = rng.choice(("provider", "update", "key") if mine else ("provider",))
        try:
            await one_write(client, acked, kind, rng, mine)
        except httpx.HTTPError:
            pass  # the crash: this write was never acknowledged
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


async def one_write(
    client: httpx.AsyncClient,
    acked: Acknowledged,
    kind: str,
    rng: random.Random,
    mine: list[str],
) -> None:
    tag = uuid.uuid4().hex[:10]
    if kind == "provider":
        body = {"name": f"p-{tag}", "base_url": "http://127.0.0.1:9/v1", "default_model": tag}
        response = await client.post("/api/v1/llm-providers", json=body, headers=ADMIN)
        if response.is_success:
            provider_id = response.json()["data"]["id"]
            acked.providers[provider_id] = tag
            acked.in_flight[provider_id] = set()
            mine.append(provider_id)
    elif kind == "update":
        provider_id = rng.choice(mine)
        acked.in_flight[provider_id].add(tag)
        response = await client.patch(
            f"/api/v1/llm-providers/{provider_id}", json={"default_model": tag}, headers=ADMIN
        )
        if response.is_success:
            acked.providers[provider_id] = tag
            acked.in_flight[provider_id] = set()
    else:
        body = {"name": f"k-{tag}", "user": f"u-{tag}", "role": "user"}
        response = await client.post("/api/v1/keys", json=body, headers=ADMIN)
        if response.is_success:
            acked.keys.add(response.json()["data"]["id"])
    if response.is_success:
        acked.count += 1
    else:
        assert response.status_code < 500, response.text


def check_sqlite(path: Path, acked: Acknowledged) -> None:
    conn = sqlite3.connect(path)  # WAL: the next opener replays the log, as the gateway will
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        providers = dict(conn.execute("SELECT id, default_model FROM provider_configs"))
        keys = {row[0] for row in conn.execute("SELECT id FROM api_keys")}
    finally:
        conn.close()
    assert_acknowledged_present(providers, keys, acked)


async def check_postgres(url: str, acked: Acknowledged) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        providers = {
            r["id"]: r["default_model"]
            for r in await conn.fetch("SELECT id, default_model FROM provider_configs")
        }
        keys = {r["id"] for r in await conn.fetch("SELECT id FROM api_keys")}
    finally:
        await conn.close()
    assert_acknowledged_present(providers, keys, acked)


def assert_acknowledged_present(
    providers: dict[str, str | None], keys: set[str], acked: Acknowledged
) -> None:
    missing = set(acked.providers) - set(providers)
    assert not missing, f"acknowledged providers lost: {sorted(missing)}"
    stale = {
        pid: (providers[pid], model)
        for pid, model in acked.providers.items()
        if providers[pid] != model and providers[pid] not in acked.in_flight[pid]
    }
    assert not stale, f"acknowledged updates lost (stored, acknowledged): {stale}"
    lost_keys = acked.keys - keys
    assert not lost_keys, f"acknowledged keys lost: {sorted(lost_keys)}"


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str | None]:
    if kind == "postgres":
        async with temporary_postgres_database() as url:
            yield url
    else:
        yield None


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_kill_9_during_admin_writes_loses_no_acknowledged_write(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as url:
        with running_sim() as sim:
            extra = {"BIGSHOT_DATABASE_URL": url} if url else {}
            env = gateway_env(tmp_path / "data", sim.url, **extra)
            gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
            try:
                await asyncio.to_thread(gateway.wait_ready)  # the first start migrates
                await crash_cycles(gateway, kind, url, tmp_path)
            finally:
                gateway.stop()


async def crash_cycles(gateway: GatewayProcess, kind: str, url: str | None, tmp: Path) -> None:
    acked = Acknowledged()
    slowest = 0.0
    rng = random.Random(7)
    for cycle in range(CYCLES):
        async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as client:
            writers = [
                asyncio.ensure_future(write_until_cancelled(client, acked, cycle * 10 + i))
                for i in range(WRITERS)
            ]
            await asyncio.sleep(rng.uniform(*WRITE_SECONDS))
            gateway.kill9()  # SIGKILL: no shutdown code runs
            for writer in writers:
                writer.cancel()
            await asyncio.gather(*writers, return_exceptions=True)
        if kind == "sqlite":
            check_sqlite(tmp / "data" / "bigshot.db", acked)
        else:
            assert url is not None
            await check_postgres(url, acked)
        gateway.start()
        took = await asyncio.to_thread(gateway.wait_ready)
        slowest = max(slowest, took)
        assert took <= READY_WITHIN_SECONDS, f"cycle {cycle}: ready after {took:.1f} s"
    assert acked.count >= CYCLES * 20, acked.count  # the writes really happened
    print(
        f"{kind}: {CYCLES} kills, {acked.count} acknowledged writes, slowest ready {slowest:.2f}s"
    )
