"""Relaying answers to HTTP clients: SSE, and cancellation when the client goes away.

(Early upstream failures are answered as JSON errors because the generation pipeline waits
briefly for the first event, `Generation.start`, before a route builds its stream.)

* `sse_response` builds the `text/event-stream` answer (sse-starlette): it cancels the relay
  when the client goes away, and the relay's `finally` closes the upstream request.
* `until_disconnected` does the same for non-streaming calls: a client that gives up cancels
  the upstream request instead of leaving the model generating.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.types import Message, Send

from bigshot_llm.errors import GatewayError
from bigshot_llm.shutdown import ShutdownNotice, end_at_shutdown

T = TypeVar("T")

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ClientGone(GatewayError):
    """The client disconnected before the answer was ready (nginx's 499)."""

    status_code = 499
    code = "client_closed_request"


class RelayResponse(EventSourceResponse):
    """sse-starlette's response without a cancel scope around every chunk it sends.

    With no send timeout configured, `_send_with_timeout` still opens an anyio cancel scope
    per message, a measurable share of the CPU spent relaying a token.
    """

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        if self.send_timeout is None:
            await send(message)
            return
        await super()._send_with_timeout(send, message)


def sse_response(
    events: AsyncIterator[bytes],
    ping_seconds: float,
    *,
    notice: ShutdownNotice | None = None,
    farewell: bytes | None = None,
    headers: dict[str, str] | None = None,
    ping_event: tuple[str, str] | None = None,
) -> EventSourceResponse:
    """The SSE answer; with `notice` and `farewell`, a stream still open at the shutdown
    deadline ends with that event instead of a dropped connection (see `shutdown`).
    `ping_event` (event name, data) replaces the keep-alive comment with a real event, for
    APIs that define one (Anthropic's `ping`)."""
    if notice is not None and farewell is not None:
        events = end_at_shutdown(events, notice, farewell)
    factory = None
    if ping_event is not None:
        name, data = ping_event

        def factory() -> ServerSentEvent:
            return ServerSentEvent(data=data, event=name)

    return RelayResponse(
        events,
        ping=ping_seconds,
        headers={**SSE_HEADERS, **headers} if headers else SSE_HEADERS,
        ping_message_factory=factory,
    )


async def until_disconnected(request: Request, call: Awaitable[T]) -> T:
    """Await `call`, cancelling it if the client disconnects first.

    `call` runs in the current task; one watcher task cancels this task when the client
    goes away (cheaper than running both in tasks of their own and waiting for either).
    """
    current = asyncio.current_task()
    assert current is not None
    gone = False

    def client_left(watcher: asyncio.Task[None]) -> None:
        nonlocal gone
        if not watcher.cancelled() and watcher.exception() is None:
            gone = True
            current.cancel()

    watcher = asyncio.create_task(_disconnected(request))
    watcher.add_done_callback(client_left)
    try:
        return await call
    except asyncio.CancelledError:
        if gone and current.uncancel() == 0:
            raise ClientGone("the client closed the connection") from None
        raise
    finally:
        watcher.remove_done_callback(client_left)
        watcher.cancel()


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
