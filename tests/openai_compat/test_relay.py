"""The `/v1` relay and encodings as pure functions: estimated usage, framing, base64."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any

import orjson

from bigshot_llm.api.openai.encoder import encode_embeddings_base64, openai_events
from bigshot_llm.api.openai.errors import error_body
from bigshot_llm.errors import ModelNotFound, UpstreamError
from bigshot_llm.providers.base import StreamChunk
from bigshot_llm.services.generation.extract import ChatExtractor
from bigshot_llm.services.generation.service import typed_events
from bigshot_llm.services.generation.stats import StreamStats


def chunk(payload: dict[str, Any]) -> StreamChunk:
    return StreamChunk(raw=orjson.dumps(payload), data=payload)


def delta(text: str, finish: str | None = None) -> StreamChunk:
    return chunk(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 5,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
        }
    )


async def source(*items: StreamChunk | Exception) -> AsyncIterator[StreamChunk]:
    for item in items:
        if isinstance(item, Exception):
            raise item
        yield item


async def relay(
    *items: StreamChunk | Exception, include_usage: bool, repair: bool = False
) -> list[bytes]:
    stats = StreamStats(extract=ChatExtractor(split_think_tags=repair), prompt_estimate=lambda: 7)
    events = openai_events(
        typed_events(source(*items), stats), include_usage=include_usage, repair=repair
    )
    return [frame async for frame in events]


async def test_upstream_bytes_are_relayed_unchanged() -> None:
    first = delta("Hello")
    frames = await relay(first, delta("", "stop"), include_usage=False)
    assert frames[0] == b"data: " + first.raw + b"\n\n"
    assert frames[-1] == b"data: [DONE]\n\n" and len(frames) == 3


async def test_usage_is_estimated_when_upstream_sends_none() -> None:
    frames = await relay(delta("Hello there"), delta("", "stop"), include_usage=True)
    usage_chunk = orjson.loads(frames[-2].removeprefix(b"data: "))
    assert usage_chunk["choices"] == [] and usage_chunk["id"] == "c1"
    assert usage_chunk["object"] == "chat.completion.chunk"
    assert usage_chunk["usage"]["prompt_tokens"] == 7
    assert usage_chunk["usage"]["completion_tokens"] >= 1


async def test_upstream_usage_chunk_is_dropped_unless_asked() -> None:
    usage = chunk({"id": "c1", "choices": [], "usage": {"prompt_tokens": 1}})
    assert len(await relay(delta("a", "stop"), usage, include_usage=False)) == 2
    asked = await relay(delta("a", "stop"), usage, include_usage=True)
    assert asked[1] == b"data: " + usage.raw + b"\n\n" and len(asked) == 3


def frames_json(frames: list[bytes]) -> list[Any]:
    return [orjson.loads(f.removeprefix(b"data: ")) for f in frames if f != b"data: [DONE]\n\n"]


async def test_repair_rewrites_only_the_chunks_with_quirks() -> None:
    quirky = chunk(
        {
            "id": "c1",
            "model": "m",
            "choices": [
                {"index": 0, "delta": {"content": "<think>hm</think>Hi", "tool_calls": []},
                 "finish_reason": None}
            ],
        }
    )  # fmt: skip
    last = chunk(
        {
            "id": "c1",
            "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": []}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
        }
    )
    plain = delta(" there")
    frames = await relay(quirky, plain, last, include_usage=True, repair=True)
    first, second, third = frames_json(frames)
    assert first["choices"][0]["delta"] == {"content": "Hi", "reasoning_content": "hm"}
    assert frames[1] == b"data: " + plain.raw + b"\n\n"  # nothing to repair: its own bytes
    assert third["choices"][0]["delta"] == {} and third["choices"][0]["finish_reason"] == "stop"
    # Upstream's usage rode on a repaired chunk: it is not estimated and sent a second time.
    assert third["usage"]["completion_tokens"] == 3 and len(frames) == 4
    unrepaired = await relay(quirky, plain, last, include_usage=True)
    assert unrepaired[0] == b"data: " + quirky.raw + b"\n\n"


async def test_an_error_ends_with_an_error_chunk_then_done() -> None:
    frames = await relay(delta("a"), UpstreamError("it broke"), include_usage=True)
    assert orjson.loads(frames[1].removeprefix(b"data: "))["error"]["message"] == "it broke"
    assert frames[-1] == b"data: [DONE]\n\n" and len(frames) == 3


async def test_multi_line_payload_keeps_sse_framing() -> None:
    multi = StreamChunk(raw=b'{"choices":\n[]}', data={"choices": []})
    frames = await relay(multi, include_usage=False)
    assert frames[0] == b'data: {"choices":\ndata: []}\n\n'


def test_base64_is_little_endian_float32() -> None:
    response: dict[str, Any] = {"data": [{"embedding": [1.0, -0.5]}, {"embedding": "abc="}]}
    encode_embeddings_base64(response)
    assert base64.b64decode(response["data"][0]["embedding"]) == struct.pack("<2f", 1.0, -0.5)
    assert response["data"][1]["embedding"] == "abc="  # already base64 upstream: untouched


def test_error_body_shape() -> None:
    body = error_body(ModelNotFound("no such model", param="model"))
    assert body == {
        "error": {
            "message": "no such model",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
