"""The native relay on byte fixtures split at awkward places: events come out as they went in,
their reading as chat chunks carries text, tool calls, finish reason and usage, and a stream
cut short or reporting an error fails with the gateway's error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bigshot_llm.errors import ContextLengthExceeded, UpstreamError
from bigshot_llm.providers.base import ProviderSpec
from bigshot_llm.providers.native_relay import relay_native

SPEC = ProviderSpec(id="p", name="up", kind="lmstudio", base_url="http://127.0.0.1:1")


def frame(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\r\ndata: {json.dumps(data)}\r\n\r\n".encode()


ANTHROPIC = [
    frame(
        "message_start",
        {"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 7}}},
    ),
    frame(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    frame(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hé"}},
    ),
    frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
    frame(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        },
    ),
    frame(
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a":1}'},
        },
    ),
    frame("content_block_stop", {"type": "content_block_stop", "index": 1}),
    frame(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 5},
        },
    ),
    frame("message_stop", {"type": "message_stop"}),
]


class Pieces(httpx.AsyncByteStream):
    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self.body), self.size):
            yield self.body[i : i + self.size]


async def relay(body: bytes, api: str, size: int = 7) -> list[Any]:
    response = httpx.Response(200, stream=Pieces(body, size))
    return [chunk async for chunk in relay_native(response, SPEC, api)]


@pytest.mark.parametrize("size", [1, 7, 4096])
async def test_anthropic_events_relayed_and_read(size: int) -> None:
    chunks = await relay(b"".join(ANTHROPIC), "messages", size)
    assert len(chunks) == len(ANTHROPIC)
    for chunk, sent in zip(chunks, ANTHROPIC, strict=True):
        assert chunk.raw == sent.replace(b"\r\n", b"\n")  # the JSON as it came
    deltas = [c.data["choices"][0]["delta"] for c in chunks]
    assert {"content": "Hé"} in deltas
    call = next(d["tool_calls"][0] for d in deltas if d.get("tool_calls"))
    assert call["id"] == "toolu_1" and call["function"]["name"] == "f"
    last = chunks[-2].data
    assert last["choices"][0]["finish_reason"] == "tool_calls"
    assert last["usage"] == {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}


async def test_responses_usage_and_sequence() -> None:
    body = frame(
        "response.created",
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {"id": "resp_1", "model": "m"},
        },
    )
    body += frame(
        "response.output_text.delta",
        {"type": "response.output_text.delta", "sequence_number": 1, "delta": "hi"},
    )
    done = {
        "id": "resp_1",
        "usage": {
            "input_tokens": 3,
            "output_tokens": 2,
            "output_tokens_details": {"reasoning_tokens": 1},
        },
    }
    body += frame(
        "response.completed", {"type": "response.completed", "sequence_number": 2, "response": done}
    )
    chunks = await relay(body, "responses")
    final = chunks[-1].data
    assert final["usage"]["completion_tokens_details"] == {"reasoning_tokens": 1}
    assert final["sequence_number"] == 2 and final["id"] == "resp_1"


async def test_cut_short_and_error_events_fail() -> None:
    with pytest.raises(UpstreamError, match="before it was complete"):
        await relay(b"".join(ANTHROPIC[:4]), "messages")
    error = frame(
        "error",
        {
            "type": "error",
            "error": {"type": "api_error", "message": "Input does not fit in context length"},
        },
    )
    with pytest.raises(ContextLengthExceeded):
        await relay(ANTHROPIC[0] + error, "messages")
    with pytest.raises(UpstreamError, match="not JSON"):
        await relay(b"data: {nope\n\n", "responses")
