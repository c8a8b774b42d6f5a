"""The native API's stream encoding: a generation's events as `delta`, then `done` or `error`.

Each event has an increasing `id`; the payloads are `schemas.events` models (documented in
the OpenAPI schema) encoded straight to bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bigshot_llm.api.responses import dumps
from bigshot_llm.services.generation.events import Chunk, Done, Event, Failed, TextDelta
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
    async for event in events:
        if isinstance(event, Chunk):
            for part in event.parts:
                if isinstance(part, TextDelta):
                    event_id += 1
                    yield native_event(event_id, b"delta", {"text": part.text})
        elif isinstance(event, Done):
            yield native_event(event_id + 1, b"done", event.payload())
            return
        elif isinstance(event, Failed):
            yield native_event(event_id + 1, b"error", event.error.to_dict())
            return
