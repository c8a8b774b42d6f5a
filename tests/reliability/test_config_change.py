"""Switching the active provider under load: 50 streams in flight finish on the old provider,
requests made after the switch go to the new one, and nothing answers 5xx."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.sim.testing import running_sim
from tests.conftest import make_settings
from tests.reliability.helpers import (
    ADMIN,
    ADMIN_KEY,
    NATIVE_CHAT,
    OPENAI_CHAT,
    chat_body,
    parse_stream,
)
from tests.support.servers import ThreadedServer

pytestmark = pytest.mark.timeout(120)
IN_FLIGHT = 50
AFTER = 20


async def one_stream(client: httpx.AsyncClient, i: int, started: asyncio.Event | None) -> str:
    openai = i % 2 == 1
    body = chat_body(f"switch {i}", stream=True, openai=openai)
    raw = b""
    async with client.stream(
        "POST", OPENAI_CHAT if openai else NATIVE_CHAT, json=body, headers=ADMIN
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for piece in response.aiter_raw():
            raw += piece
            if started is not None:
                started.set()
    text, ending, error = parse_stream(raw, openai=openai)
    assert ending == "done", (ending, error)
    return text


async def test_switching_the_active_provider_under_load(tmp_path: Path) -> None:
    with (
        # The old streams last 6 s: long enough that the switch and the streams after it come
        # while they still run, even when a busy machine makes each step take seconds. Few,
        # slow tokens: the simulators, the gateway and this client share one process (and one
        # GIL); at 500 tokens a second a busy machine starved the gateway's loop for seconds,
        # and a connect that had long succeeded was reported as timed out.
        running_sim(tokens=20, token_delay=0.3, seed="old", parallel=1000) as old,
        running_sim(tokens=5, seed="new") as new,
    ):
        settings = make_settings(
            tmp_path,
            bootstrap_admin_key=ADMIN_KEY,
            lmstudio_api_base=f"{old.url}/v1",
            admission_enabled=False,  # all 50 streams on the old server at once, not 4 of them
        )
        with ThreadedServer(create_app(settings)) as gateway:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=gateway.url, timeout=30, limits=limits) as c:
                created = await c.post(
                    "/api/v1/llm-providers",
                    json={"name": "second", "base_url": f"{new.url}/v1"},
                    headers=ADMIN,
                )
                assert created.status_code == 201, created.text
                events = [asyncio.Event() for _ in range(IN_FLIGHT)]
                running = [
                    asyncio.ensure_future(one_stream(c, i, events[i])) for i in range(IN_FLIGHT)
                ]
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 15)
                assert old.state.streams_open == IN_FLIGHT  # all in flight at the switch
                switched = await c.post(
                    f"/api/v1/llm-providers/{created.json()['data']['id']}/activate",
                    headers=ADMIN,
                )
                assert switched.status_code == 200, switched.text
                later = await asyncio.gather(*(one_stream(c, i, None) for i in range(AFTER)))
                assert old.state.streams_open > 0, "the switch raced the end of the old streams"
                earlier = await asyncio.gather(*running)
    assert all(earlier) and all(later)
    assert old.state.streams_completed == IN_FLIGHT and old.state.streams_aborted == 0
    assert new.state.streams_completed == AFTER
    assert old.state.requests_by_path.get("/v1/chat/completions") == IN_FLIGHT
