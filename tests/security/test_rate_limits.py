"""Rate limits per key (in memory and shared through Redis), stream caps, failed-auth limits."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, create_user_key, make_settings
from tests.support.servers import ThreadedServer
from tests.support.services import REDIS_URL, require_service

MODELS = "/api/v1/llm-providers/models"
CHAT = "/api/v1/llm-providers/chat/completions"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit_user": 3, "max_streams_user": 1}


async def test_user_limit_per_minute_with_headers(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    for expected_remaining in (2, 1, 0):
        response = await client.get(MODELS, headers=user_headers)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["x-ratelimit-remaining"] == str(expected_remaining)
        assert int(response.headers["x-ratelimit-reset"]) >= int(time.time())
    refused = await client.get(MODELS, headers=user_headers)
    assert refused.status_code == 429
    assert refused.json()["success"] is False
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"
    # other endpoints (config management) are not LLM calls and not limited
    assert (await client.get("/api/v1/me", headers=user_headers)).status_code == 200


async def test_admin_keys_are_unlimited_by_default(client: httpx.AsyncClient) -> None:
    for _ in range(6):
        assert (await client.get(MODELS, headers=auth(ADMIN_KEY))).status_code == 200


async def test_limits_are_per_key(client: httpx.AsyncClient) -> None:
    first = auth(await create_user_key(client, "k1"))
    second = auth(await create_user_key(client, "k2"))
    for _ in range(3):
        await client.get(MODELS, headers=first)
    assert (await client.get(MODELS, headers=first)).status_code == 429
    assert (await client.get(MODELS, headers=second)).status_code == 200


async def test_failed_authentication_is_limited_per_address(client: httpx.AsyncClient) -> None:
    codes = [
        (await client.get("/api/v1/me", headers=auth(f"bsk_wrong{i}"))).status_code
        for i in range(31)
    ]
    assert codes[:30] == [401] * 30 and codes[30] == 429
    # even a valid key from that address waits (brute force gets no oracle)
    blocked = await client.get("/api/v1/me", headers=auth("bsk_wrong-again"))
    assert blocked.status_code == 429
    assert 55 <= int(blocked.headers["retry-after"]) <= 60  # a minute's window, less elapsed


async def test_concurrent_stream_cap(tmp_path: Path, sim: Any) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 20
    settings = make_settings(
        tmp_path, lmstudio_api_base=f"{sim.url}/v1", max_streams_user=1, rate_limit_user=100
    )
    with ThreadedServer(create_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            user = auth(await create_user_key(client, "streamer"))
            body = {"messages": [{"role": "user", "content": "x"}], "stream": True}
            async with client.stream("POST", CHAT, json=body, headers=user) as first:
                assert first.status_code == 200
                second = await client.post(CHAT, json=body, headers=user)
                assert second.status_code == 429
                assert second.json()["error"]["code"] == "too_many_streams"
                async for _ in first.aiter_raw():
                    pass
            third = await client.post(CHAT, json=body, headers=user)
            assert third.status_code == 200
            assert b"event: done" in third.content


def _redis_app(
    tmp_path: Path, db: Path, name: str, per_minute: int, sim: Any, prefix: str
) -> FastAPI:
    settings = make_settings(
        tmp_path / name,
        lmstudio_api_base=f"{sim.url}/v1",
        database_url=f"sqlite+aiosqlite:///{db}",
        redis_url=REDIS_URL,
        redis_prefix=prefix,  # a run of its own: another suite running now counts elsewhere
        rate_limit_user=per_minute,
    )
    return create_app(settings)


@pytest.mark.redis
async def test_limit_holds_across_two_gateway_processes_via_redis(tmp_path: Path, sim: Any) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    db = tmp_path / "shared.db"
    per_minute = 10
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    with ThreadedServer(_redis_app(tmp_path, db, "a", per_minute, sim, prefix)) as a:
        with ThreadedServer(_redis_app(tmp_path, db, "b", per_minute, sim, prefix)) as b:
            async with httpx.AsyncClient(timeout=30) as client:
                created = await client.post(
                    f"{a.url}/api/v1/keys",
                    json={"name": f"shared-{uuid.uuid4().hex[:6]}", "user": "shared"},
                    headers=auth(ADMIN_KEY),
                )
                key = auth(created.json()["data"]["key"])
                urls = [a.url, b.url] * 10
                responses = await asyncio.gather(
                    *(client.get(f"{url}{MODELS}", headers=key) for url in urls)
                )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == per_minute, [r.text for r in responses]
    assert codes.count(429) == len(urls) - per_minute


async def test_a_key_limit_lowers_and_the_user_limit_lifts(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/keys",
        json={"name": "tight", "user": "tight", "rate_limit_per_minute": 1},
        headers=auth(ADMIN_KEY),
    )
    assert created.status_code == 201
    assert created.json()["data"]["rate_limit_per_minute"] == 1
    key = auth(created.json()["data"]["key"])
    assert (await client.get(MODELS, headers=key)).status_code == 200
    assert (await client.get(MODELS, headers=key)).status_code == 429

    # the key's owner cannot raise its own limit; removing the key's own limit leaves the
    # user's (the role default, 3 here); only the user's limit lifts it (0 = unlimited)
    key_id = created.json()["data"]["id"]
    user_id = created.json()["data"]["user_id"]
    denied = await client.patch(
        f"/api/v1/keys/{key_id}", json={"rate_limit_per_minute": 0}, headers=key
    )
    assert denied.status_code == 403
    lowered_only = await client.patch(
        f"/api/v1/keys/{key_id}", json={"rate_limit_per_minute": 0}, headers=auth(ADMIN_KEY)
    )
    assert lowered_only.status_code == 200
    codes = [(await client.get(MODELS, headers=key)).status_code for _ in range(3)]
    assert codes == [200, 429, 429]  # 2 used of the user's 3: one more, then refused
    lifted = await client.patch(
        f"/api/v1/users/{user_id}", json={"rate_limit_per_minute": 0}, headers=auth(ADMIN_KEY)
    )
    assert lifted.status_code == 200, lifted.text
    for _ in range(5):
        assert (await client.get(MODELS, headers=key)).status_code == 200


async def test_chat_stream_creation_counts_against_the_limit(
    client: httpx.AsyncClient, user_headers: dict
) -> None:
    for _ in range(3):
        await client.get(MODELS, headers=user_headers)
    refused = await client.post(
        "/api/v1/chat/streams", json={"message": "hi"}, headers=user_headers
    )
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
