"""More concurrent streams than a provider's `max_connections`: they queue for a connection,
and only a wait longer than BIGSHOT_UPSTREAM_POOL_TIMEOUT_SECONDS fails, as 503
`provider_busy` with a message saying so (never the old, wrong "timed out connecting").

The 1 000-stream figure with the default pool is measured by `benchmarks/pool_defaults.py`;
these tests hold the same property at a size that suits a shared CI machine.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.providers.base import DEFAULT_MAX_CONNECTIONS
from bigshot_llm.sim.testing import running_sim
from tests.conftest import make_settings
from tests.reliability.helpers import (
    ADMIN,
    ADMIN_KEY,
    CONNECT_TIMEOUT_UNDER_LOAD,
    OPENAI_CHAT,
    chat_body,
)
from tests.support.servers import ThreadedServer

pytestmark = pytest.mark.timeout(180)
STREAMS = 300


def start_gateway(tmp_path: Path, sim: Any, pool_timeout: float, max_connections: int) -> Any:
    settings = make_settings(
        tmp_path,
        bootstrap_admin_key=ADMIN_KEY,
        lmstudio_api_base=f"{sim.url}/v1",
        health_check_seconds=0,
        upstream_pool_timeout_seconds=pool_timeout,
        admission_enabled=False,  # the connection pool's own bound, not the GPU slots'
    )
    server = ThreadedServer(create_app(settings)).start()
    providers = httpx.get(f"{server.url}/api/v1/llm-providers", headers=ADMIN, timeout=10)
    provider = providers.json()["data"][0]
    assert provider["max_connections"] == DEFAULT_MAX_CONNECTIONS  # the default holds 1 000
    httpx.patch(
        f"{server.url}/api/v1/llm-providers/{provider['id']}",
        json={"max_connections": max_connections, "connect_timeout": CONNECT_TIMEOUT_UNDER_LOAD},
        headers=ADMIN,
        timeout=10,
    ).raise_for_status()
    return server


@pytest.fixture
def sim() -> Iterator[Any]:
    # Each stream lasts about 1 s; the simulator runs them all at once (no LM Studio queue).
    with running_sim(tokens=10, token_delay=0.1, parallel=1000) as server:
        yield server


async def one_stream(client: httpx.AsyncClient) -> tuple[int, bytes]:
    body = chat_body("tell me about pools", stream=True, openai=True)
    raw = b""
    async with client.stream("POST", OPENAI_CHAT, json=body, headers=ADMIN) as response:
        async for piece in response.aiter_raw():
            raw += piece
    return response.status_code, raw


async def storm(url: str) -> list[tuple[int, bytes]]:
    limits = httpx.Limits(max_connections=STREAMS + 10, max_keepalive_connections=STREAMS)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        return await asyncio.gather(*(one_stream(client) for _ in range(STREAMS)))


def complete(status: int, raw: bytes) -> bool:
    return status == 200 and raw.endswith(b"data: [DONE]\n\n") and b'"error"' not in raw


async def test_streams_beyond_the_pool_wait_for_a_connection(tmp_path: Path, sim: Any) -> None:
    server = start_gateway(tmp_path, sim, pool_timeout=120, max_connections=50)
    try:
        results = await storm(server.url)
    finally:
        server.stop()
    failures = [(status, raw[-300:]) for status, raw in results if not complete(status, raw)]
    assert failures == []
    assert sim.state.streams_open == 0


async def test_a_wait_past_the_pool_timeout_fails_with_a_clear_error(
    tmp_path: Path, sim: Any
) -> None:
    server = start_gateway(tmp_path, sim, pool_timeout=0.3, max_connections=20)
    try:
        results = await storm(server.url)
    finally:
        server.stop()
    outcomes: Counter[str] = Counter()
    for status, raw in results:
        if complete(status, raw):
            outcomes["complete"] += 1
            continue
        # The wait ends before the first byte: a plain 503 in OpenAI's shape. On a busy
        # machine the wait may outlast the stream's first-event grace (2 s: 300 requests share
        # two cores), and the same error is then the stream's final event after its 200.
        if status == 200:
            first = next(line for line in raw.split(b"\n") if line.startswith(b"data:"))
            assert first.startswith(b'data: {"error":'), raw  # no content before it
            assert raw.endswith(b"data: [DONE]\n\n"), raw
        else:
            assert status == 503, raw[-300:]
        assert b'"code":"provider_busy"' in raw, raw
        assert b"all 20 connections to" in raw and b"are in use" in raw, raw
        assert b"timed out connecting" not in raw
        outcomes["busy"] += 1
    assert outcomes["complete"] >= 20, outcomes
    assert outcomes["busy"] > 0, outcomes
    assert outcomes["complete"] + outcomes["busy"] == STREAMS
