"""Graceful shutdown for streams relayed directly to a client.

On SIGTERM uvicorn stops accepting and waits up to `BIGSHOT_SHUTDOWN_GRACE_SECONDS` for open
connections. Streams that finish within that time end normally. A stream still running just
before the deadline is cut by the gateway itself: its upstream request is closed and the client
receives a terminal event saying the gateway is restarting (`error` with code
`gateway_shutdown` on the native API; an error chunk and `[DONE]` on `/v1`), instead of a
connection dropped mid-stream.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger(__name__)

MARGIN_SECONDS = 0.5  # cut this long before uvicorn's own deadline


class ShutdownNotice:
    """Knows when shutdown began and cuts the streams still open at the deadline."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.started = False
        self.deadline_passed = False
        self._streams: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        """Chain onto SIGTERM/SIGINT (uvicorn's handlers stay in charge of stopping)."""
        if threading.current_thread() is not threading.main_thread():
            return  # embedded servers (tests) have no signals of their own
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)

            def handler(signum: int, frame: Any, previous: Any = previous) -> None:
                if self._loop is not None:
                    self._loop.call_soon_threadsafe(self.begin)
                if callable(previous):
                    previous(signum, frame)

            signal.signal(sig, handler)

    def begin(self) -> None:
        if self.started:
            return
        self.started = True
        delay = max(0.0, self.grace - MARGIN_SECONDS)
        log.info("shutting down: %d streams get %.1fs to finish", len(self._streams), delay)
        asyncio.get_running_loop().call_later(delay, self._cut)

    def _cut(self) -> None:
        self.deadline_passed = True
        for task in list(self._streams):
            task.cancel()

    def watch(self, task: asyncio.Task[Any]) -> None:
        self._streams.add(task)

    def forget(self, task: asyncio.Task[Any]) -> None:
        self._streams.discard(task)


async def end_at_shutdown(
    events: AsyncIterator[bytes], notice: ShutdownNotice, farewell: bytes
) -> AsyncIterator[bytes]:
    """Relay `events`; if the shutdown deadline comes first, close them and say goodbye."""
    task = asyncio.current_task()
    assert task is not None
    notice.watch(task)
    try:
        async for event in events:
            yield event
    except asyncio.CancelledError:
        if not notice.deadline_passed:
            raise
        task.uncancel()
        yield farewell
    finally:
        notice.forget(task)
