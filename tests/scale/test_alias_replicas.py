"""Two gateways in one process, one database and one Redis: an alias written through one is
resolved by the other once the bus message arrives (the light version of
`test_alias_propagation`, which runs real replica processes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.services import REDIS_URL, require_service

ADMIN = auth(ADMIN_KEY)
CHAT = "/api/v1/llm-providers/chat/completions"


@pytest.fixture
async def pair(tmp_path: Path, sim: Any) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    require_service("Redis", "127.0.0.1", 6379)
    common = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
        "lmstudio_api_base": f"{sim.url}/v1",
        "redis_url": REDIS_URL,
        "redis_prefix": f"bigshot-test-{uuid.uuid4().hex[:10]}",
    }
    a = create_app(make_settings(tmp_path / "a", **common))
    b = create_app(make_settings(tmp_path / "b", **common))
    async with a.router.lifespan_context(a), b.router.lifespan_context(b):
        yield a, b


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


async def until(check: Any, timeout: float = 15.0) -> None:
    """Poll `check()` (async) until it holds; fail after `timeout` (generous: a busy box)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "the change never reached the other gateway"
        await asyncio.sleep(0.05)


async def test_an_alias_written_on_one_gateway_is_resolved_by_the_other(
    pair: tuple[FastAPI, FastAPI], sim: Any
) -> None:
    a, b = pair
    bus_b = b.state.resources.cluster.bus
    received = bus_b.received
    async with client_of(a) as on_a, client_of(b) as on_b:
        created = await on_a.post(
            "/api/v1/llm-providers/aliases",
            json={"name": "gpt-5-codex", "provider_id": "LMStudio Local", "model": "qwen3-8b"},
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
        alias_id = created.json()["data"]["id"]

        async def b_has_it() -> bool:
            return b.state.resources.registry.aliases.get(alias_id) is not None

        await until(b_has_it)
        assert bus_b.received > received  # B reloaded because of the bus, not by chance
        chat = {"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}
        answer = await on_b.post(CHAT, json=chat, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert sim.state.last_request_body["model"] == "qwen3-8b"

        deleted = await on_a.delete(f"/api/v1/llm-providers/aliases/{alias_id}", headers=ADMIN)
        assert deleted.status_code == 200

        async def b_forgot_it() -> bool:
            return b.state.resources.registry.aliases.get(alias_id) is None

        await until(b_forgot_it)
        assert (await on_b.post(CHAT, json=chat, headers=ADMIN)).status_code == 404
