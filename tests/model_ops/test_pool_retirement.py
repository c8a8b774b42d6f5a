"""A deleted (or changed) pool stops health-checking its members at once, instead of asking
servers nobody uses every few seconds until its client is closed minutes later."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
BASE = "/api/v1/llm-providers"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"pool_health_seconds": 0.05}


async def checks_of(server: Any) -> int:
    return int(server.state.requests_by_path.get("/api/v1/models", 0))


async def wait_for_more(server: Any, than: int) -> None:
    for _ in range(200):
        if await checks_of(server) > than:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the pool never health-checked its member")


@pytest.mark.parametrize("change", ["delete", "patch"])
async def test_a_retired_pool_stops_its_health_checks(
    client: httpx.AsyncClient, second_sim: Any, sim: Any, change: str
) -> None:
    created = await client.post(
        BASE,
        json={"name": "pool", "base_url": sim.url, "pool_urls": [second_sim.url]},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    provider_id = created.json()["data"]["id"]
    listed = await client.get(f"{BASE}/models", params={"provider": provider_id}, headers=ADMIN)
    assert listed.status_code == 200  # the pool is in use: its health checks run
    await wait_for_more(second_sim, await checks_of(second_sim) + 2)
    if change == "delete":
        gone = await client.delete(f"{BASE}/{provider_id}", headers=ADMIN)
    else:  # the pool is rebuilt without the member: the old one's checks must stop too
        gone = await client.patch(f"{BASE}/{provider_id}", json={"pool_urls": []}, headers=ADMIN)
    assert gone.status_code == 200, gone.text
    await asyncio.sleep(0.2)  # a check already under way may still land
    settled = await checks_of(second_sim)
    await asyncio.sleep(0.5)  # ten health intervals
    assert await checks_of(second_sim) == settled
