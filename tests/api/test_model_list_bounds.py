"""The model list's time bound and its cache, against an upstream on a real socket.

Refused connections fail at once, so they never proved the list timeout: here the upstream
accepts and never answers `/v1/models`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bigshot_llm.schemas.providers import ProviderCreate
from tests.support.hostile import HostileServer, Request, json_response

LIST_TIMEOUT = 0.5
TTL = 2.0


class ModelsUpstream:
    def __init__(self) -> None:
        self.hang = False
        self.server = HostileServer(self._handle)

    def listings(self) -> int:
        return sum(1 for path in self.server.paths() if path.endswith("/models"))

    async def _handle(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        if self.hang:
            await asyncio.sleep(60)  # accepted, never answered
            return False
        return await json_response(writer, {"object": "list", "data": [{"id": "m-1"}]})


@pytest.fixture
def upstream() -> Iterator[ModelsUpstream]:
    up = ModelsUpstream()
    with up.server:
        yield up


@pytest.fixture
def settings_overrides(upstream: ModelsUpstream) -> dict[str, Any]:
    return {"lmstudio_api_base": f"{upstream.server.url}/v1", "model_cache_ttl": TTL}


async def provider_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    listing = await client.get("/api/v1/llm-providers", headers=headers)
    return str(listing.json()["data"][0]["id"])


def test_the_default_list_timeout_is_five_seconds() -> None:
    assert ProviderCreate.model_fields["list_timeout"].default == 5.0


async def test_a_hanging_upstream_costs_at_most_the_list_timeout(
    client: httpx.AsyncClient, admin_headers: dict[str, str], upstream: ModelsUpstream
) -> None:
    pid = await provider_id(client, admin_headers)
    patched = await client.patch(
        f"/api/v1/llm-providers/{pid}", json={"list_timeout": LIST_TIMEOUT}, headers=admin_headers
    )
    assert patched.status_code == 200, patched.text
    upstream.hang = True
    started = time.monotonic()
    response = await client.get("/v1/models", headers=admin_headers)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert LIST_TIMEOUT * 0.9 <= elapsed < LIST_TIMEOUT + 3, elapsed
    # The timed-out listing is remembered for a while: the next caller does not wait again.
    started = time.monotonic()
    response = await client.get("/api/v1/llm-providers/models/all", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < LIST_TIMEOUT * 0.9
    assert (await client.get("/v1/models", headers=admin_headers)).json()["data"] == []
    everything = await client.get("/api/v1/llm-providers/models/all", headers=admin_headers)
    [entry] = everything.json()["data"]["providers"]
    assert entry["status"] == "unavailable"
    assert "longer than 0.5s" in entry["message"]


async def test_the_model_list_is_cached_for_the_ttl(
    client: httpx.AsyncClient, admin_headers: dict[str, str], upstream: ModelsUpstream
) -> None:
    first = await client.get("/v1/models", headers=admin_headers)
    assert [m["id"] for m in first.json()["data"]][:1] == ["m-1"]
    fetched = upstream.listings()
    assert fetched >= 1
    for _ in range(5):
        assert (await client.get("/v1/models", headers=admin_headers)).status_code == 200
    assert upstream.listings() == fetched  # served from the cache
    await asyncio.sleep(TTL + 0.5)
    await client.get("/v1/models", headers=admin_headers)
    assert upstream.listings() == fetched + 1  # expired: fetched again, once
