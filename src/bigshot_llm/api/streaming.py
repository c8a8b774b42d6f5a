"""Relaying generations to HTTP clients: SSE with early errors as JSON, and cancellation.

* `prefetch` waits briefly for the first upstream chunk, so a refused or failing upstream is
  answered as a normal JSON error with the right status instead of a 200 stream. If the first
  token is slow (prompt processing, JIT model load) the stream starts anyway and keep-alive
  pings flow; later failures are reported in-band as a final `error` event.
* `sse_response` builds the `text/event-stream` answer (sse-starlette): it cancels the relay
  when the client goes away, and the relay's `finally` closes the upstream request.
* `until_disconnected` does the same for non-streaming calls: a client that gives up cancels
  the upstream request instead of leaving the model generating.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from sse_starlette import EventSourceResponse
from starlette.requests import Request

from bigshot_llm.errors import GatewayError

T = TypeVar("T")

FIRST_CHUNK_GRACE_SECONDS = 2.0
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ClientGone(GatewayError):
    """The client disconnected before the answer was ready (nginx's 499)."""

    status_code = 499
    code = "client_closed_request"


async def prefetch(
    chunks: AsyncIterator[T], grace: float = FIRST_CHUNK_GRACE_SECONDS
) -> AsyncIterator[T]:
    """Start `chunks`; raise its error if it fails within `grace`, else return a relay of it."""
    first = asyncio.ensure_future(chunks.__anext__())
    try:
        await asyncio.wait({first}, timeout=grace)
    except asyncio.CancelledError:
        await _abandon(first, chunks)
        raise
    if first.done():
        try:
            first.result()
        except StopAsyncIteration:
            pass
        except BaseException:
            await _close(chunks)
            raise
    return _relay(first, chunks)


async def _relay(first: asyncio.Future[T], chunks: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        try:
            item = await first
        except StopAsyncIteration:
            return
        yield item
        async for item in chunks:
            yield item
    finally:
        await _abandon(first, chunks)


async def _abandon(first: asyncio.Future[T], chunks: AsyncIterator[T]) -> None:
    if not first.done():
        first.cancel()
        with contextlib.suppress(BaseException):
            await first
    await _close(chunks)


async def _close(chunks: AsyncIterator[T]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def sse_response(events: AsyncIterator[bytes | dict], ping_seconds: float) -> EventSourceResponse:
    return EventSourceResponse(events, ping=ping_seconds, headers=SSE_HEADERS)


async def until_disconnected(request: Request, call: Awaitable[T]) -> T:
    """Await `call`, cancelling it if the client disconnects first."""
    work = asyncio.ensure_future(call)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not work.done():
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
        watcher.cancel()
    if work.cancelled():
        raise ClientGone("the client closed the connection")
    return work.result()


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
