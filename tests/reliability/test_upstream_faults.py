"""Network faults between the gateway and its upstream, each with a documented outcome and
time budget; after every case upstream connections, fds and tasks are back at the baseline.

| fault                        | outcome                                                    |
|------------------------------|------------------------------------------------------------|
| latency (150 ms each way)    | the same answer, slower                                    |
| bandwidth (8 KB/s)           | the same answer, slower                                    |
| reset in the middle of a body| the stream ends with a terminal error within 1 s           |
| blackhole (accept, no answer)| 504 within the provider's read timeout + 0.5 s             |
| SSE frames sliced to bytes   | the identical text                                         |
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import Rig
from tests.reliability.helpers import (
    ADMIN,
    NATIVE_CHAT,
    OPENAI_CHAT,
    answer_text,
    chat_body,
    parse_stream,
)

pytestmark = pytest.mark.timeout(120)
PROMPT = "tell me about rivers"
SURFACES = [(NATIVE_CHAT, False), (OPENAI_CHAT, True)]


async def stream_once(client: httpx.AsyncClient, path: str, openai: bool) -> dict[str, Any]:
    """One streaming chat: status, text, ending, the error, elapsed and when it ended."""
    started = time.monotonic()
    body = chat_body(PROMPT, stream=True, openai=openai)
    raw = b""
    async with client.stream("POST", path, json=body, headers=ADMIN) as response:
        async for piece in response.aiter_raw():
            raw += piece
    ended = time.monotonic()
    if response.status_code != 200:
        return {"status": response.status_code, "elapsed": ended - started, "raw": raw}
    text, ending, error = parse_stream(raw, openai=openai)
    return {
        "status": 200,
        "text": text,
        "ending": ending,
        "error": error,
        "elapsed": ended - started,
        "ended_at": ended,
    }


async def chat_once(client: httpx.AsyncClient, path: str, openai: bool) -> tuple[int, Any, float]:
    started = time.monotonic()
    response = await client.post(path, json=chat_body(PROMPT, stream=False), headers=ADMIN)
    elapsed = time.monotonic() - started
    payload = response.json()
    text = answer_text(payload, openai=openai) if response.status_code == 200 else payload
    return response.status_code, text, elapsed


async def reference(rig: Rig) -> dict[str, Any]:
    """Answers and timings without faults (also warms every lazy resource up)."""
    found: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=rig.url, timeout=30) as client:
        for path, openai in SURFACES:
            result = await stream_once(client, path, openai)
            assert result["ending"] == "done", result
            found[path] = result
            status, text, _ = await chat_once(client, path, openai)
            assert status == 200 and text == result["text"]
    return found


async def test_latency_and_bandwidth_give_the_same_answer_slower(rig: Rig) -> None:
    expected = await reference(rig)
    rig.take_baseline()
    # A stream is ~7 KB: at 8 KB/s it takes ~0.9 s, not ~0.3; 150 ms each way adds 0.3 s.
    for faults, name in (({"latency": 0.15}, "latency"), ({"bandwidth": 8_000}, "bandwidth")):
        async with httpx.AsyncClient(base_url=rig.url, timeout=30) as client:
            for path, openai in SURFACES:
                rig.proxy.configure(**faults)  # counts this stream's bytes afresh
                result = await stream_once(client, path, openai)
                assert result["ending"] == "done", (name, result)
                assert result["text"] == expected[path]["text"], name
                if name == "latency":  # every chunk held 0.15 s: at least that, on any machine
                    assert result["elapsed"] >= 0.15, (name, result)
                else:
                    # Every piece but the last waited out its share of the bandwidth: a bound
                    # on any machine (a busy one's unthrottled reference can be slower).
                    rate = faults["bandwidth"]
                    least = (rig.proxy.most_sent - rate // 20) / rate
                    assert rig.proxy.most_sent > 4_000, rig.proxy.most_sent
                    assert result["elapsed"] >= least, (name, least, result)
                status, text, elapsed = await chat_once(client, path, openai)
                assert (status, text) == (200, expected[path]["text"]), name
                if name == "latency":
                    assert elapsed >= 0.3, elapsed  # a round trip: the request and the answer
        rig.proxy.configure()
        rig.assert_no_leaks(name)


async def test_reset_mid_stream_ends_with_an_error_event_within_a_second(rig: Rig) -> None:
    await reference(rig)
    rig.sim.state.tokens = 80
    rig.take_baseline()
    for path, openai in SURFACES:
        async with httpx.AsyncClient(base_url=rig.url, timeout=30) as client:
            rig.proxy.configure(reset_after=1500)  # headers and a few chunks, then RST
            resets = rig.proxy.resets
            result = await stream_once(client, path, openai)
            assert rig.proxy.resets == resets + 1
            assert result["status"] == 200, result
            assert result["ending"] == "error", result
            assert result["error"]["code"] == "bad_upstream_response", result
            assert result["text"], "the stream had started before the reset"
            assert result["ended_at"] - rig.proxy.last_reset_at < 1.0
        rig.proxy.configure()
        rig.assert_no_leaks(f"reset {path}")


async def test_blackhole_answers_504_within_the_read_timeout(rig: Rig) -> None:
    await reference(rig)
    async with httpx.AsyncClient(base_url=rig.url, timeout=30) as client:
        patch = {"read_timeout": 1.0, "stream_idle_timeout": 1.0}
        response = await client.patch(
            f"/api/v1/llm-providers/{rig.provider_id}", json=patch, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        await chat_once(client, NATIVE_CHAT, False)  # the new client's pool, warmed up
    rig.take_baseline()
    budget = 1.0 + 0.5
    rig.proxy.configure(blackhole=True)
    async with httpx.AsyncClient(base_url=rig.url, timeout=30) as client:
        for path, openai in SURFACES:
            status, payload, elapsed = await chat_once(client, path, openai)
            assert status == 504, payload
            assert 0.9 <= elapsed <= budget, (path, elapsed)
            result = await stream_once(client, path, openai)
            assert result["status"] == 504, result  # before the first byte: a JSON error
            assert result["elapsed"] <= budget, (path, result["elapsed"])
    rig.proxy.configure()
    rig.assert_no_leaks("blackhole")


async def test_sse_frames_sliced_at_any_byte_give_the_identical_text(rig: Rig) -> None:
    expected = await reference(rig)
    rig.take_baseline()
    rig.proxy.configure(slice_bytes=48, slice_delay=0.001)  # frames are ~250 bytes
    async with httpx.AsyncClient(base_url=rig.url, timeout=30) as client:
        for path, openai in SURFACES:
            for _ in range(2):
                result = await stream_once(client, path, openai)
                assert result["ending"] == "done", result
                assert result["text"] == expected[path]["text"]
            status, text, _ = await chat_once(client, path, openai)
            assert (status, text) == (200, expected[path]["text"])
    rig.proxy.configure()
    rig.assert_no_leaks("slicer")
