"""Resumable chat streams under /api/v1/chat/streams, made for the browser's `EventSource`.

`POST` stores the message and starts generating in the background; it answers with an
`events_url` whose `token` query parameter stands in for the API key (EventSource cannot send
headers). The token opens that one stream's events and nothing else, until the stream's buffer
expires or the key that started it is revoked (or its user removed), whichever comes first.
Query strings of this route are never logged. Reconnecting with `Last-Event-ID` (header, or
`last_event_id` in the query) replays exactly the events after that id, then follows the live
ones.

Events are the native streaming ones: `reasoning` `{"text"}`, `delta` `{"text"}`,
`tool_call` `{index, id, type, name, arguments}`, then `done` (finish_reason, usage,
usage_estimated, reasoning_tokens, stats, model, context, message_id, conversation_id;
finish_reason `"cancelled"` after a stop; `parsed`/`parse_error` for a strict json_schema) or
`error` `{"code", "message"}`, each with an increasing `id`. A stream that ends with tool
calls (finish_reason `tool_calls`) is continued by a new stream with `tool_results`.

With Redis every route works on every replica, whichever one runs the generation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bigshot_llm.api.deps import (
    CurrentUser,
    ResourcesDep,
    StreamsDep,
    current_principal,
    enforce_rate_limit,
)
from bigshot_llm.api.responses import dumps, ok, warning_headers
from bigshot_llm.api.routing import api_router
from bigshot_llm.api.streaming import sse_response
from bigshot_llm.errors import BadRequest, NotFound
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.conversations import StreamCreate, StreamCreated, StreamPublic
from bigshot_llm.schemas.events import CHAT_STREAM_DOC
from bigshot_llm.services.chat.buffers.memory import StreamBuffer, StreamEvent
from bigshot_llm.services.chat.streams import StreamHandle, StreamManager
from bigshot_llm.sse import numbered_event

router = api_router("/api/v1/chat/streams", tags=["chat streams"])


def _not_found(stream_id: str) -> NotFound:
    return NotFound(f"stream '{stream_id}' not found or expired")


async def owned(streams: StreamManager, stream_id: str, user_id: str) -> StreamHandle:
    handle = await streams.find(stream_id)
    if handle is None or handle.buffer.meta.owner_id != user_id:
        raise _not_found(stream_id)
    return handle


@router.post(
    "",
    status_code=201,
    response_model=Envelope[StreamCreated],
    dependencies=[Depends(enforce_rate_limit)],
)
async def create_stream(
    body: StreamCreate, principal: CurrentUser, streams: StreamsDep, resources: ResourcesDep
) -> Response:
    """Send a message and start the answer (creates the conversation if none is given)"""
    handle, token = await streams.open(principal, body)
    created = StreamCreated(
        **handle.public().model_dump(),
        events_url=f"{router.prefix}/{handle.id}/events?token={token}",
        expires_in=resources.settings.stream_grace_seconds,
    )
    return ok(created, status_code=201, headers=warning_headers(handle.warnings))


@router.get("/{stream_id}", response_model=Envelope[StreamPublic])
async def get_stream(stream_id: str, principal: CurrentUser, streams: StreamsDep) -> Response:
    """A stream's status"""
    return ok((await owned(streams, stream_id, principal.user_id)).public())


@router.delete("/{stream_id}", response_model=Envelope[StreamPublic])
async def stop_stream(stream_id: str, principal: CurrentUser, streams: StreamsDep) -> Response:
    """Stop generating (the partial answer is kept as `cancelled`)"""
    handle = await owned(streams, stream_id, principal.user_id)
    await streams.stop(handle)
    return ok(handle.public())


@router.get("/{stream_id}/events", responses=CHAT_STREAM_DOC)
async def stream_events(
    stream_id: str,
    request: Request,
    streams: StreamsDep,
    resources: ResourcesDep,
    token: Annotated[str | None, Query(max_length=200, description="from events_url")] = None,
    last_event_id: Annotated[int | None, Query(ge=0, description="or the header")] = None,
) -> Response:
    """Follow a stream (SSE)"""
    if token is not None:
        handle = await streams.find(stream_id)
        if handle is None or not await streams.token_valid(handle, token):
            raise _not_found(stream_id)
    else:
        principal = await current_principal(request, resources)
        handle = await owned(streams, stream_id, principal.user_id)
    after = _last_event_id(request, last_event_id)
    buffer = handle.buffer
    if buffer.closed and after >= buffer.last_id:
        return Response(status_code=204)  # nothing more will come: EventSource stops here
    events = sse_response(_encode(buffer.read_after(after)), resources.settings.sse_ping_seconds)
    return AttachedResponse(events, buffer)


def _last_event_id(request: Request, query_value: int | None) -> int:
    """The header wins: a browser reconnects to the same URL with a newer header."""
    header = request.headers.get("last-event-id")
    if header is None or not header.strip():
        return query_value or 0
    value = header.strip()
    if not value.isdigit() or len(value) > 18:
        raise BadRequest("Last-Event-ID must be an event id from this stream")
    return int(value)


async def _encode(events: AsyncIterator[StreamEvent]) -> AsyncIterator[bytes]:
    async for item in events:
        yield numbered_event(item.id, item.event.encode(), dumps(item.data))


class AttachedResponse(Response):
    """Counts the client as connected for exactly as long as its response runs.

    The response returns when the client disconnects (sse-starlette listens for it), which
    is when the stream's grace period must start.
    """

    def __init__(self, inner: Response, buffer: StreamBuffer) -> None:
        super().__init__(status_code=inner.status_code)
        self.inner = inner
        self.buffer = buffer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.buffer.attach()
        try:
            await self.inner(scope, receive, send)
        finally:
            self.buffer.detach()
