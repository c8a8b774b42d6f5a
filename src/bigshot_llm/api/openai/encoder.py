"""The `/v1` stream relay and the embeddings encoding: OpenAI's wire formats, kept lean.

Streams: each upstream chunk goes out as ``data: <upstream bytes>`` the moment it arrives
(no re-encoding, no buffering). The gateway always asks upstream for usage (for its own
statistics) but forwards the usage chunk only to clients that asked for it; when upstream
sent none, an estimate from `StreamStats` takes its place. Every stream ends with
``data: [DONE]``, also after a failure, which is reported first as ``data: {"error": …}``.

With the provider's `repair_v1` on, a chunk whose parts differ from its bytes (LM Studio's
empty `tool_calls: []`, empty call ids, an inline `<think>` block) is re-encoded from its
parts instead: reasoning as `reasoning_content`, answer as `content`, repaired tool calls.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import AsyncIterator
from typing import Any

import orjson

from bigshot_llm.api.openai.errors import error_body
from bigshot_llm.services.generation.events import (
    Chunk,
    Done,
    Event,
    Failed,
    Loading,
    Part,
    Queued,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from bigshot_llm.sse import encode_sse

__all__ = ["DONE_FRAME", "OPENAI_FAREWELL", "encode_embeddings_base64", "openai_events"]

DONE_FRAME = b"data: [DONE]\n\n"
_BIG_ENDIAN = sys.byteorder == "big"
# What a stream still open at the shutdown deadline ends with (see `shutdown`).
OPENAI_FAREWELL = (
    b'data: {"error":{"message":"the gateway is restarting; send the request again",'
    b'"type":"server_error","param":null,"code":"gateway_shutdown"}}\n\ndata: [DONE]\n\n'
)


def _frame(raw: bytes) -> bytes:
    # Upstream JSON is one line; a multi-line payload needs one `data:` line per line.
    return b"data: " + raw + b"\n\n" if b"\n" not in raw else encode_sse(raw)


def repaired_chunk(data: dict[str, Any], parts: tuple[Part, ...], last: dict[str, Any]) -> bytes:
    """A chat chunk rebuilt from its parts (the rest of it, role and finish_reason, kept)."""
    chunk = {**last, **data} if data else {k: last.get(k) for k in ("id", "object", "model")}
    chunk.setdefault("object", "chat.completion.chunk")
    choices = data.get("choices") if data else None
    choice = dict(choices[0]) if choices else {"index": 0, "finish_reason": None}
    given = choice.get("delta")
    old: dict[str, Any] = given if isinstance(given, dict) else {}
    delta = {
        k: v
        for k, v in old.items()
        if k not in ("content", "reasoning_content", "reasoning", "tool_calls")
    }
    text = "".join(p.text for p in parts if isinstance(p, TextDelta))
    reasoning = "".join(p.text for p in parts if isinstance(p, ReasoningDelta))
    if text or "content" in old:
        delta["content"] = text
    if reasoning:
        delta["reasoning_content"] = reasoning
    calls = []
    for part in parts:
        if isinstance(part, ToolCallDelta):
            call: dict[str, Any] = {"index": part.index}
            function: dict[str, Any] = {"arguments": part.arguments}
            if part.id is not None:
                call.update(id=part.id, type="function")
            if part.name is not None:
                function["name"] = part.name
            call["function"] = function
            calls.append(call)
    if calls:
        delta["tool_calls"] = calls
    choice["delta"] = delta
    chunk["choices"] = [choice, *(choices[1:] if choices else [])]
    return orjson.dumps(chunk)


async def openai_events(
    events: AsyncIterator[Event], *, include_usage: bool, repair: bool = False
) -> AsyncIterator[bytes]:
    """A generation's events → OpenAI SSE frames (upstream's bytes, or repaired ones),
    then ``[DONE]``."""
    saw_usage = False
    last: dict[str, Any] = {}
    async for event in events:
        if isinstance(event, Chunk):
            if event.raw is None:
                if repair:  # without repair, the raw bytes already said all of it
                    yield _frame(repaired_chunk(event.data, event.parts, last))
                continue
            last = event.data
            if event.usage is not None:
                saw_usage = True
                if not include_usage and event.usage_only:
                    continue
            if repair and event.repaired:
                yield _frame(repaired_chunk(event.data, event.parts, last))
            else:
                yield _frame(event.raw)
        elif isinstance(event, Queued):
            # A comment, which OpenAI's clients skip: the wait is visible, the stream valid.
            yield b": queued position=%d estimate_seconds=%g\n\n" % (
                event.position,
                event.estimate_seconds,
            )
        elif isinstance(event, Loading):
            progress = "unknown" if event.progress is None else f"{event.progress:.2f}"
            model = event.model.replace("\r", " ").replace("\n", " ")  # one comment line
            yield f": loading model={model} progress={progress}\n\n".encode()
        elif isinstance(event, Done):
            if include_usage and not saw_usage:
                yield _frame(orjson.dumps(usage_chunk(last, event)))
            break
        elif isinstance(event, Failed):
            yield _frame(orjson.dumps(error_body(event.error)))
            break
    yield DONE_FRAME


def usage_chunk(last: dict[str, Any], done: Done) -> dict[str, Any]:
    """OpenAI's final usage chunk (``choices: []``), shaped like the stream's other chunks."""
    return {
        "id": last.get("id"),
        "object": last.get("object", "chat.completion.chunk"),
        "created": last.get("created"),
        "model": last.get("model", done.model),
        "choices": [],
        "usage": done.usage,
    }


def encode_embeddings_base64(response: dict[str, Any]) -> None:
    """Float vectors → base64 of little-endian float32, in place (as OpenAI answers).

    LM Studio ignores `encoding_format` and always sends floats; vectors that already arrive
    as base64 strings (OpenAI itself) are left alone.
    """
    for item in response.get("data") or ():
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(vector, list):
            packed = array("f", vector)
            if _BIG_ENDIAN:
                packed.byteswap()
            item["embedding"] = base64.b64encode(packed.tobytes()).decode("ascii")
