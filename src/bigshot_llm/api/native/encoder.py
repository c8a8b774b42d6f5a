"""The native API's stream encoding: a generation's events as `queued` and `loading` (while
it waits for a GPU slot or a model load), `reasoning`, `delta` and `tool_call` events, then
`done` or `error`.

Each event has an increasing `id`; the payloads are `schemas.events` models (documented in
the OpenAPI schema) encoded straight to bytes. A tool call goes out once, whole, when its
arguments are complete (the next call starts or the stream ends).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bigshot_llm.api.responses import dumps
from bigshot_llm.services.generation.events import (
    Chunk,
    Done,
    Event,
    Failed,
    Loading,
    Queued,
    ReasoningDelta,
    TextDelta,
    ToolCallAssembler,
    ToolCallDelta,
)
from bigshot_llm.sse import numbered_event

NATIVE_FAREWELL = (
    b'event: error\ndata: {"code":"gateway_shutdown","message":"the gateway is restarting; '
    b'send the request again"}\n\n'
)


def native_event(event_id: int, name: bytes, payload: object) -> bytes:
    return numbered_event(event_id, name, dumps(payload))


async def native_events(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """A generation's events → native SSE frames, ending with `done` or `error`."""
    event_id = 0
    calls = ToolCallAssembler()
    async for event in events:
        if isinstance(event, Chunk):
            for part in event.parts:
                if isinstance(part, TextDelta):
                    event_id += 1
                    yield native_event(event_id, b"delta", {"text": part.text})
                elif isinstance(part, ReasoningDelta):
                    event_id += 1
                    yield native_event(event_id, b"reasoning", {"text": part.text})
                elif isinstance(part, ToolCallDelta):
                    for call in calls.feed(part):
                        event_id += 1
                        yield native_event(event_id, b"tool_call", call.payload())
        elif isinstance(event, Queued):
            event_id += 1
            yield native_event(event_id, b"queued", event.payload())
        elif isinstance(event, Loading):
            event_id += 1
            yield native_event(event_id, b"loading", event.payload())
        elif isinstance(event, Done):
            for call in calls.finish():
                event_id += 1
                yield native_event(event_id, b"tool_call", call.payload())
            yield native_event(event_id + 1, b"done", event.payload())
            return
        elif isinstance(event, Failed):
            yield native_event(event_id + 1, b"error", event.error.to_dict())
            return
