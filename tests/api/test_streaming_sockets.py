"""Streaming over real sockets: no buffering, and a client that leaves cancels upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.sse import SSEDecoder
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
CHAT = "/api/v1/llm-providers/chat/completions"
MESSAGES = [{"role": "user", "content": "tell me a story"}]


@pytest.fixture
def gateway(tmp_path: Path, sim: Any, request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    overrides = getattr(request, "param", {})
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1", **overrides)
    with ThreadedServer(create_app(settings)) as server:
        yield server


async def read_events(response: httpx.Response) -> Any:
    decoder = SSEDecoder()
    async for raw in response.aiter_raw():
        for event in decoder.feed(raw):
            yield event, time.monotonic()


async def test_each_delta_arrives_as_it_is_produced(gateway: ThreadedServer, sim: Any) -> None:
    sim.state.token_delay = 0.2
    sim.state.tokens = 6
    arrivals: list[float] = []
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        body = {"messages": MESSAGES, "stream": True}
        async with client.stream("POST", CHAT, json=body, headers=ADMIN) as response:
            assert response.status_code == 200
            async for event, at in read_events(response):
                if event.event == "delta":
                    arrivals.append(at)
    assert len(arrivals) == 6
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # Produced every 200 ms and relayed one by one: spread over the upstream's second, not
    # bunched at the end. (A busy machine may deliver a late delta with the next one, so the
    # spread is judged, not every gap.)
    assert arrivals[-1] - arrivals[0] >= 0.5 * 5 * 0.2, gaps
    assert sum(gap >= 0.1 for gap in gaps) >= 3, gaps


async def test_client_disconnect_cancels_the_upstream_stream(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.token_delay = 0.1
    sim.state.tokens = 100
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        body = {"messages": MESSAGES, "stream": True}
        async with client.stream("POST", CHAT, json=body, headers=ADMIN) as response:
            seen = 0
            async for event, _ in read_events(response):
                seen += event.event == "delta"
                if seen == 3:
                    break
            assert sim.state.streams_open == 1
            left_at = time.monotonic()
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2)
    closed_after = time.monotonic() - left_at
    assert sim.state.streams_open == 0
    assert closed_after < 0.2, closed_after


async def test_client_disconnect_cancels_a_non_streaming_request(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.token_delay = 0.1
    sim.state.tokens = 100  # ten seconds of "generation"
    async with httpx.AsyncClient(base_url=gateway.url, timeout=0.5) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(CHAT, json={"messages": MESSAGES}, headers=ADMIN)
    await sim.state.wait_for_async(lambda: sim.state.aborted_requests == 1, timeout=2)
    assert sim.state.active_requests == 0


@pytest.mark.parametrize("gateway", [{"sse_ping_seconds": 0.2}], indirect=True)
async def test_slow_first_token_starts_the_stream_with_pings(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.jit_load_delay = 6.0  # far longer than the 2 s first-chunk grace
    sim.state.unload_model("qwen2.5-7b-instruct")
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        body = {"messages": MESSAGES, "stream": True, "model": "qwen2.5-7b-instruct"}
        started = time.monotonic()
        async with client.stream("POST", CHAT, json=body, headers=ADMIN) as response:
            assert response.status_code == 200
            headers_after = time.monotonic() - started
            raw = b""
            async for chunk in response.aiter_raw():
                raw += chunk
    assert headers_after < 5.0  # the answer started (with pings) before the model loaded
    assert b": ping" in raw
    assert b"event: done" in raw


@pytest.mark.parametrize("gateway", [{"sse_ping_seconds": 0.2}], indirect=True)
async def test_hang_mid_stream_ends_with_timeout_event(gateway: ThreadedServer, sim: Any) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        providers = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
        await client.patch(
            f"/api/v1/llm-providers/{providers[0]['id']}",
            json={"stream_idle_timeout": 0.5},
            headers=ADMIN,
        )
        sim.state.set_fault("hang_mid_stream", after=2)
        body = {"messages": MESSAGES, "stream": True}
        started = time.monotonic()
        response = await client.post(CHAT, json=body, headers=ADMIN)
    elapsed = time.monotonic() - started
    decoder = SSEDecoder()
    events = decoder.feed(response.content)
    assert events[-1].event == "error"
    assert orjson.loads(events[-1].data)["code"] == "provider_timeout"
    assert elapsed < 3
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 0, timeout=2)


async def test_many_concurrent_streams_are_independent(gateway: ThreadedServer, sim: Any) -> None:
    sim.state.tokens = 10
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:

        async def one(i: int) -> str:
            body = {"messages": [{"role": "user", "content": f"q{i}"}], "stream": True}
            response = await client.post(CHAT, json=body, headers=ADMIN)
            decoder = SSEDecoder()
            events = decoder.feed(response.content)
            assert events[-1].event == "done"
            return "".join(orjson.loads(e.data)["text"] for e in events if e.event == "delta")

        texts = await asyncio.gather(*(one(i) for i in range(20)))
    assert len(set(texts)) > 1
    assert sim.state.streams_completed == 20
