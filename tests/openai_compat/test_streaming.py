"""Streaming through the gateway: upstream's chunks as they come, usage on request, [DONE]."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai import AsyncOpenAI, OpenAI

from bigshot_llm.sse import SSEDecoder
from tests.conftest import learn_models_sync
from tests.openai_compat.conftest import CHAT_MODEL

MESSAGES: list[Any] = [{"role": "user", "content": "tell me a story"}]


def chat_text(chunks: Any) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def frames(http: httpx.Client, path: str, body: dict[str, Any]) -> list[str]:
    """The `data:` payloads of a gateway stream, in order (raw, so [DONE] is visible)."""
    with http.stream("POST", path, json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        decoder = SSEDecoder()
        return [e.data for raw in response.iter_raw() for e in decoder.feed(raw)]


def test_chat_stream_matches_a_direct_stream(gw: OpenAI, direct: OpenAI) -> None:
    params: dict[str, Any] = {"model": CHAT_MODEL, "messages": MESSAGES, "stream": True}
    via_gateway = list(gw.chat.completions.create(**params))
    upstream = list(direct.chat.completions.create(**params))
    assert chat_text(via_gateway) == chat_text(upstream) != ""
    assert [c.choices[0].finish_reason for c in via_gateway] == [
        c.choices[0].finish_reason for c in upstream
    ]
    assert all(c.usage is None for c in via_gateway)  # not asked for: not forwarded


def test_completion_stream_matches_a_direct_stream(gw: OpenAI, direct: OpenAI) -> None:
    params: dict[str, Any] = {"model": CHAT_MODEL, "prompt": "Once", "stream": True}
    via_gateway = "".join(c.choices[0].text for c in gw.completions.create(**params))
    assert via_gateway == "".join(c.choices[0].text for c in direct.completions.create(**params))


def test_usage_chunk_only_when_asked(gw: OpenAI, direct: OpenAI, sim: Any) -> None:
    params: dict[str, Any] = {"model": CHAT_MODEL, "messages": MESSAGES, "stream": True}
    without = list(gw.chat.completions.create(**params))
    # Upstream is always asked for usage (the gateway's own statistics) …
    assert sim.state.last_request_body["stream_options"] == {"include_usage": True}
    assert all(c.usage is None and c.choices for c in without)

    options = {"include_usage": True}
    asked = list(gw.chat.completions.create(**params, stream_options=options))
    last = asked[-1]
    assert last.choices == [] and last.usage is not None
    upstream = list(direct.chat.completions.create(**params, stream_options=options))
    assert last.usage == upstream[-1].usage
    assert sum(1 for c in asked if c.usage is not None) == 1


def test_stream_is_relayed_byte_for_byte(http: httpx.Client, sim: Any) -> None:
    data = frames(http, "/v1/chat/completions", {"model": CHAT_MODEL, "messages": MESSAGES})
    assert data[-1] == "[DONE]"
    chunks = [orjson.loads(d) for d in data[:-1]]
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert len(chunks) == sim.state.tokens + 2  # role, one per token, finish


@pytest.mark.parametrize(
    ("fault", "code"),
    [("error_event", "context_length_exceeded"), ("drop_mid_stream", "bad_upstream_response")],
)
def test_mid_stream_failure_sends_an_error_then_done(
    http: httpx.Client, gw: OpenAI, sim: Any, fault: str, code: str
) -> None:
    sim.state.set_fault(fault, after=3, count=1)
    data = frames(http, "/v1/chat/completions", {"model": CHAT_MODEL, "messages": MESSAGES})
    assert data[-1] == "[DONE]"
    error = orjson.loads(data[-2])["error"]
    assert error["code"] == code and error["message"]
    assert set(error) == {"message", "type", "param", "code"}
    assert all("error" not in orjson.loads(d) for d in data[:-2])

    sim.state.set_fault(fault, after=3, count=1)
    stream = gw.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError, match="."):
        for _ in stream:
            pass


def test_failure_before_the_first_byte_is_a_json_error(gw: OpenAI, sim: Any) -> None:
    learn_models_sync(str(gw.base_url))
    sim.state.set_fault("http_503", count=1, on="generation")
    with pytest.raises(openai.InternalServerError) as caught:
        gw.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True)
    assert caught.value.status_code == 503
    with pytest.raises(openai.NotFoundError):
        gw.chat.completions.create(model="no-such-model", messages=MESSAGES, stream=True)


def test_chunks_arrive_as_they_are_produced(gw: OpenAI, sim: Any) -> None:
    sim.state.token_delay = 0.15
    sim.state.tokens = 5
    arrivals = []
    for chunk in gw.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
    # Relayed, not buffered: the chunks come spread over the upstream's time. A busy machine may
    # deliver a late chunk together with the next one, so judge the spread, not each gap.
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(arrivals) == 5, arrivals
    assert arrivals[-1] - arrivals[0] >= 0.5 * 4 * 0.15, gaps
    assert sum(gap >= 0.075 for gap in gaps) >= 2, gaps


async def test_async_stream_and_disconnect_aborts_upstream(agw: AsyncOpenAI, sim: Any) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    stream = await agw.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True)
    seen = 0
    async for chunk in stream:
        seen += bool(chunk.choices and chunk.choices[0].delta.content)
        if seen == 3:
            break
    assert sim.state.streams_open == 1
    await stream.close()
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2)
    assert sim.state.streams_open == 0 and sim.state.streams_completed == 0


async def test_concurrent_async_streams(agw: AsyncOpenAI, sim: Any) -> None:
    sim.state.tokens = 8

    async def one(i: int) -> str:
        stream = await agw.chat.completions.create(
            model=CHAT_MODEL, messages=[{"role": "user", "content": f"q{i}"}], stream=True
        )
        return chat_text([c async for c in stream])

    texts = await asyncio.gather(*(one(i) for i in range(10)))
    assert len(set(texts)) > 1
    assert sim.state.streams_completed == 10
