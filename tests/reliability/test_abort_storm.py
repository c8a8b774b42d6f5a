"""An abort storm: 200 streaming and 50 non-streaming requests, on both API surfaces, each
abandoned by its client at a random point (before the answer, or after a few events).

Every upstream request is closed: the simulator ends with no open stream and no active
request, and every stream it started is counted as aborted or completed; the gateway's fds,
tasks and upstream connections go back to their baseline.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests.reliability.conftest import Rig
from tests.reliability.helpers import ADMIN, MODEL, NATIVE_CHAT, OPENAI_CHAT, chat_body

pytestmark = pytest.mark.timeout(120)
STREAMS = 200
ONE_SHOTS = 50
CONCURRENCY = 60
COMPLETIONS = {False: "/api/v1/llm-providers/completions", True: "/v1/completions"}


async def abandoned_stream(client: httpx.AsyncClient, rng: random.Random, i: int) -> str:
    """A stream left before its headers, or after a random number of raw reads."""
    openai = i % 2 == 1
    path = OPENAI_CHAT if openai else NATIVE_CHAT
    body = chat_body(f"storm {i}", stream=True, openai=openai)
    reads = rng.randint(0, 12)
    if reads == 0:  # gone before the answer starts
        request = asyncio.ensure_future(client.post(path, json=body, headers=ADMIN))
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        return "before"
    async with client.stream("POST", path, json=body, headers=ADMIN) as response:
        assert response.status_code == 200, await response.aread()
        seen = 0
        async for _ in response.aiter_raw():
            seen += 1
            if seen >= reads:
                return "during"  # leaving the block closes the connection mid-stream
    return "finished"


async def abandoned_call(client: httpx.AsyncClient, rng: random.Random, i: int) -> str:
    """A non-streaming completion whose client gives up after a random moment."""
    body = {"model": MODEL, "prompt": f"storm call {i}"}
    try:
        async with asyncio.timeout(rng.uniform(0.05, 0.9)):
            response = await client.post(COMPLETIONS[i % 2 == 1], json=body, headers=ADMIN)
    except TimeoutError:
        return "abandoned"
    assert response.status_code == 200, response.text
    return "finished"


async def test_abort_storm_closes_every_upstream_request(rig: Rig) -> None:
    state = rig.sim.state
    state.tokens, state.token_delay = 40, 0.02  # ~0.8 s per answer: time to walk away
    async with httpx.AsyncClient(base_url=rig.url, timeout=30) as client:
        response = await client.post(
            NATIVE_CHAT, json=chat_body("warm up", stream=True), headers=ADMIN
        )
        assert response.status_code == 200
    rig.take_baseline()
    state.reset()
    state.tokens, state.token_delay = 40, 0.02
    rng = random.Random(2024)
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=0)

    async def bounded(kind: str, i: int) -> str:
        async with gate:
            if kind == "stream":
                return await abandoned_stream(client, rng, i)
            return await abandoned_call(client, rng, i)

    jobs = [("stream", i) for i in range(STREAMS)] + [("call", i) for i in range(ONE_SHOTS)]
    rng.shuffle(jobs)
    async with httpx.AsyncClient(base_url=rig.url, timeout=30, limits=limits) as client:
        outcomes = await asyncio.gather(*(bounded(kind, i) for kind, i in jobs))
    assert outcomes.count("during") > 50 and outcomes.count("abandoned") > 10, outcomes

    await state.wait_for_async(
        lambda: state.streams_open == 0 and state.active_requests == 0, timeout=5
    )
    counters = state.counters()
    started = counters["requests_by_path"].get("/v1/chat/completions", 0)
    assert started >= STREAMS // 2, counters
    ended = counters["streams_aborted"] + counters["streams_completed"]
    assert ended == started, counters
    assert counters["streams_faulted"] == 0, counters
    assert counters["streams_aborted"] > 50, counters
    rig.assert_no_leaks("abort storm")
