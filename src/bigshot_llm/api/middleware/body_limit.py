"""Bounds on a request body: its size (413), its time (408), and a client that leaves (499).

* **Size**: a body over the limit is refused with 413, by its `Content-Length` before the app
  reads it, or as soon as the streamed body passes the limit.
* **Time**: the whole body must arrive within `timeout` seconds of the request's start (a slow
  client sending a byte every few seconds would otherwise hold a connection and a task for
  as long as it likes). Past it the client gets 408 (`Connection: close`) and the app sees a
  disconnect.
* **A client that leaves mid-body** is not a server error: whatever the app does next (an
  exception, a 400 for an unreadable body, nothing), the request is recorded as 499 and
  nothing is logged as an error.

With `json_only` it also refuses a body that is not JSON (415, `content_type.py`), after the
size check, in the same pass over the headers.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bigshot_llm.api.errors import render_outside_app
from bigshot_llm.api.middleware.base import HTTPMiddleware
from bigshot_llm.api.middleware.content_type import refuse_non_json
from bigshot_llm.errors import PayloadTooLarge, RequestTimeout

CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that went away


class BodyTooLarge(Exception):
    """Raised inside `receive` once the streamed body passes the limit."""


class BodyLimitMiddleware(HTTPMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout: float | None = None,
        *,
        json_only: bool = False,
    ) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.json_only = json_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # `__call__` itself (not `handle`): one coroutine per request less.
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        content_type: bytes | None = None
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(scope, receive, send)
                    return
                has_body = value.strip() not in (b"", b"0")
            elif name == b"content-type":
                content_type = value
            elif name == b"transfer-encoding":
                has_body = True
        if self.json_only:
            refusal = refuse_non_json(scope, content_type, has_body)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout
        received = 0
        complete = False  # the last body message arrived
        started = False
        ended = False  # we answered (408) or the client left: the app's answer goes nowhere
        left = False

        async def guarded_receive() -> Message:
            nonlocal received, complete, ended, left
            if complete or ended:
                return await receive()
            try:
                if deadline is None:
                    message = await receive()
                else:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
            except TimeoutError:
                if not started:
                    await self._answer(
                        scope,
                        receive,
                        send,
                        RequestTimeout(
                            f"the request body did not arrive within {self.timeout:g}s",
                            headers={"Connection": "close"},
                        ),
                    )
                ended = True
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
                complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                ended = left = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if ended:
                if left and message["type"] == "http.response.start" and not started:
                    started = True  # recorded as 499; uvicorn drops it (the client is gone)
                    await send({**message, "status": CLIENT_CLOSED_REQUEST})
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await self._reject(scope, receive, send)
            return
        except Exception:
            if not ended:
                raise
            # The client left mid-body (or timed out): what the app made of the missing
            # body is no server error.
        if left and not started:
            await send({"type": "http.response.start", "status": CLIENT_CLOSED_REQUEST})
            await send({"type": "http.response.body", "body": b""})

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._answer(
            scope,
            receive,
            send,
            PayloadTooLarge(f"request body is larger than {self.max_bytes} bytes"),
        )

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, error: PayloadTooLarge | RequestTimeout
    ) -> None:
        response = render_outside_app(scope, error)
        await response(scope, receive, send)
