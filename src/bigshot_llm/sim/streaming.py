"""Low-level response machinery: disconnect watching, SSE streaming with faults, drops.

Every frame of a stream is its own ASGI ``send`` (so uvicorn writes it at once, no
buffering). A "drop" is produced by returning from the ASGI callable without finishing the
response: uvicorn then closes the TCP connection, which the client sees as a truncated body.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bigshot_llm.sim.state import FaultSpec, SimState

MID_STREAM_FAULTS: frozenset[str] = frozenset(
    {"hang_mid_stream", "drop_mid_stream", "malformed_chunk", "error_event"}
)
DONE_FRAME = b"data: [DONE]\n\n"
MALFORMED_FRAME = b"data: {not json\n\n"
CONTEXT_ERROR_MESSAGE = "Input does not fit in context length"
ERROR_EVENT_FRAME = (
    b"event: error\ndata: "
    + orjson.dumps({"error": {"message": CONTEXT_ERROR_MESSAGE}, "message": CONTEXT_ERROR_MESSAGE})
    + b"\n\n"
)

_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("sim_dropping", default=False)


class _DropLogFilter(logging.Filter):
    """Silence uvicorn's complaint about the responses the simulator truncates on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping.get() and "without completing response" in str(record.msg))


_FILTER = _DropLogFilter()


def install_log_filter() -> None:
    """Attach the drop filter to uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def sse_frame(chunk: Any) -> bytes:
    """``data: {json}\\n\\n``."""
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


class DisconnectWatcher:
    """Watches ``receive`` for ``http.disconnect`` in a background task.

    Create it only after the request body has been read (it consumes ASGI messages).
    """

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.event = asyncio.Event()
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._watch()
        )

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.event.set()
                return

    @property
    def disconnected(self) -> bool:
        """Whether the client has gone away."""
        return self.event.is_set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the client disconnects first; return True if it did."""
        if self.event.is_set():
            return True
        if seconds <= 0:
            await asyncio.sleep(0)
            return self.event.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout=seconds)
        return self.event.is_set()

    async def wait(self) -> None:
        """Wait until the client disconnects."""
        await self.event.wait()

    async def aclose(self) -> None:
        """Stop watching."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class SSEResponse(Response):
    """A ``text/event-stream`` answer that applies token delays, faults and counters."""

    media_type = "text/event-stream"

    def __init__(
        self,
        state: SimState,
        frames: Sequence[tuple[bytes, bool]],
        watcher: DisconnectWatcher,
        *,
        token_delay: float,
        fault: FaultSpec | None,
        done_frame: bytes | None = DONE_FRAME,
        error_frame: bytes = ERROR_EVENT_FRAME,
    ) -> None:
        super().__init__(content=None, status_code=200, media_type=self.media_type)
        self.state = state
        self.frames = list(frames)
        self.watcher = watcher
        self.token_delay = token_delay
        self.fault = fault if fault is not None and fault.name in MID_STREAM_FAULTS else None
        self.done_frame = done_frame  # None for APIs whose last event ends the stream
        self.error_frame = error_frame  # the `error_event` fault in the API's own shape
        self.outcome = "aborted"
        self.on_close: Callable[[], None] | None = None  # the slot's release, when it ends

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        state.incr("streams_open")
        try:
            self.outcome = await self._run(send)
        except OSError:
            self.outcome = "aborted"
        finally:
            if self.on_close is not None:
                self.on_close()
            await self.watcher.aclose()
            with state._lock:
                state.streams_open -= 1
                state.incr(f"streams_{self.outcome}")

    async def _send(self, send: Send, data: bytes, more: bool = True) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": more})

    async def _run(self, send: Send) -> str:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        fault = self.fault
        done = [(self.done_frame, False)] if self.done_frame is not None else []
        frames = [*self.frames, *done]
        sent = 0
        struck = False
        for data, is_token in frames:
            if fault is not None and not struck and sent >= fault.after:
                struck = True
                if fault.name == "hang_mid_stream":
                    await self.watcher.wait()
                    return "aborted"
                if fault.name == "drop_mid_stream":
                    _dropping.set(True)
                    return "faulted"
                if fault.name == "error_event":
                    await self._send(send, self.error_frame)
                    await self._send(send, b"", more=False)
                    return "faulted"
                await self._send(send, MALFORMED_FRAME)  # malformed_chunk: then carry on
            delay = self.token_delay if is_token else 0.0
            if await self.watcher.sleep(delay):
                return "aborted"
            await self._send(send, data)
            sent += 1
        await self._send(send, b"", more=False)
        return "completed"


class DropResponse(Response):
    """Send headers and a few bytes of a promised body, then make uvicorn close the socket."""

    def __init__(self) -> None:
        super().__init__(content=None, status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-', "more_body": True})
        _dropping.set(True)
