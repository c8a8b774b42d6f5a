"""The native API's stream encoding: a generation's events as `queued` and `loading` (while
it waits for a GPU slot or a model load), `reasoning`, `delta` and `tool_call` events, then
`done` or `error`.

Each event has an increasing `id`; the payloads are `schemas.events` models (documented in
the OpenAPI schema) encoded straight to bytes. A tool call goes out once, whole, when its
arguments are complete (the next call starts or the stream ends).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from bigshot_llm.api.responses import dumps
from bigshot_llm.services.generation.events import Event, named_events
from bigshot_llm.sse import numbered_event

NATIVE_FAREWELL = (
    b'event: error\ndata: {"code":"gateway_shutdown","message":"the gateway is restarting; '
    b'send the request again"}\n\n'
)


def native_event(event_id: int, name: bytes, payload: object) -> bytes:
    return numbered_event(event_id, name, dumps(payload))


async def native_events(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """A generation's events → native SSE frames, ending with `done` or `error`."""
    async with aclosing(named_events(events)) as named:
        event_id = 0
        async for name, payload, _ in named:
            event_id += 1
            yield native_event(event_id, name.encode(), payload)
