"""The agent surfaces' stream when the upstream speaks their API: its events, relayed.

Each `Chunk` of a forwarded generation carries one upstream event as bytes (`raw`), which go
out as they came. What the gateway adds is only what it must: its keep-alive while the
request waits for a GPU slot or a model load (the surface's `waiting` bytes), and, when the
upstream fails mid-stream, one terminal error event in the API's own shape (`fail`, given the
last chunk's reading so a Responses error can continue its `sequence_number`). `on_final`
sees the upstream's terminal event before it is sent (the Responses surface stores the
response there, so a client that chains at once finds it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request

from bigshot_llm.errors import GatewayError
from bigshot_llm.services.generation.events import Chunk, Event, Failed, Loading, Queued

__all__ = ["client_json", "event_data", "relay_native_events"]

Fail = Callable[[GatewayError, dict[str, Any]], bytes]
Final = Callable[[dict[str, Any]], Awaitable[None]]


async def client_json(request: Request) -> dict[str, Any]:
    """The request's JSON object as the client sent it (already validated by the route), for
    forwarding: orjson, or the standard library for integers beyond 64 bits, which orjson
    refuses and a client may pass in a field the gateway does not read."""
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = json.loads(raw)
    return data if isinstance(data, dict) else {}


def event_data(raw: bytes) -> dict[str, Any]:
    """The JSON of one relayed SSE event (its `data:` lines)."""
    lines = [line[5:].lstrip() for line in raw.split(b"\n") if line.startswith(b"data:")]
    try:
        data = orjson.loads(b"\n".join(lines))
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


async def relay_native_events(
    events: AsyncIterator[Event],
    *,
    fail: Fail,
    waiting: Callable[[Queued | Loading], bytes],
    on_final: Final | None = None,
) -> AsyncIterator[bytes]:
    last: dict[str, Any] = {}
    async for event in events:
        if isinstance(event, Chunk):
            if event.raw is None:
                continue
            last = event.data
            choices = event.data.get("choices") or [{}]
            if on_final is not None and choices[0].get("finish_reason"):
                await on_final(event_data(event.raw))
            yield event.raw
        elif isinstance(event, Failed):
            yield fail(event.error, last)
            return
        elif isinstance(event, Queued | Loading):
            yield waiting(event)
        # `Done`: the upstream's own last event has been relayed already
