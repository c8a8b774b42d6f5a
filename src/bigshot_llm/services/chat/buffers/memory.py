"""The replayable event log of one chat stream, behind a small `StreamBuffer` protocol.

A generation writes its events (`delta`, then a final `done` or `error`) into a buffer; any
number of readers, one after the other or at once, read the events after the last id they saw
and then follow live ones. Ids are 1, 2, 3 … with no gaps, so "after id n" is exact: a reader
that reconnects with `Last-Event-ID: n` gets every later event once.

`MemoryStreamBuffer` keeps the log in process (the embedded default). `RedisStreamBuffer`
(`chat.buffers.redis`) takes its place when Redis is configured, so a reconnect may
land on another replica; that is why every method that could touch the network is async and the
stream's metadata (owner, token hash) lives in the buffer, not beside it. The synchronous
properties report what the buffer last knew; `sync()` refreshes it from shared storage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StreamEvent:
    id: int
    event: str  # delta | done | error
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamMeta:
    """Who a stream belongs to and what proves it (the hash of its events token)."""

    stream_id: str
    owner_id: str
    conversation_id: str
    token_hash: str
    provider: str
    model: str
    created_at: float = field(default_factory=time.time)
    context: dict[str, int] = field(default_factory=dict)
    user_message_id: str | None = None
    key_id: str = ""  # the API key that started it: its token lives no longer than the key
    continues_message_id: str | None = None  # the answer it goes on writing (continue)


class StreamBuffer(Protocol):
    meta: StreamMeta

    async def append(self, event: str, data: dict[str, Any]) -> int:
        """Add an event; returns its id. Refused after `close`."""
        ...

    def read_after(self, last_id: int) -> AsyncIterator[StreamEvent]:
        """Events with an id above `last_id`, waiting for new ones until the buffer closes."""
        ...

    async def close(self, keep_seconds: float) -> None:
        """No more events; readers drain and end. The log expires `keep_seconds` later."""
        ...

    @property
    def closed(self) -> bool: ...

    @property
    def last_id(self) -> int: ...

    @property
    def final(self) -> StreamEvent | None:
        """The last event once closed (`done` or `error`), else None."""
        ...

    def expired(self, now: float | None = None) -> bool: ...

    def attach(self) -> None:
        """A client connected (the grace period stops)."""
        ...

    def detach(self) -> None:
        """A client went away (the grace period starts when none is left)."""
        ...

    @property
    def subscribers(self) -> int: ...

    def idle_seconds(self, now: float | None = None) -> float:
        """How long no client has been connected (0 while one is)."""
        ...

    async def sync(self) -> None:
        """Refresh the properties above from shared storage (other replicas' clients)."""
        ...


class MemoryStreamBuffer:
    """An in-process `StreamBuffer`: a list of events and an `asyncio.Event` per wake-up."""

    def __init__(self, meta: StreamMeta) -> None:
        self.meta = meta
        self._events: list[StreamEvent] = []
        self._wakeup = asyncio.Event()
        self._closed = False
        self._expires_at: float | None = None
        self._subscribers = 0
        self._idle_since: float | None = time.monotonic()

    async def append(self, event: str, data: dict[str, Any]) -> int:
        if self._closed:
            raise RuntimeError("the stream buffer is closed")
        item = StreamEvent(len(self._events) + 1, event, data)
        self._events.append(item)
        self._wake()
        return item.id

    async def read_after(self, last_id: int) -> AsyncIterator[StreamEvent]:
        index = max(last_id, 0)
        while True:
            waiter = self._wakeup
            while index < len(self._events):
                yield self._events[index]
                index += 1
            if self._closed:
                return
            await waiter.wait()

    async def close(self, keep_seconds: float) -> None:
        if not self._closed:
            self._closed = True
            self._expires_at = time.monotonic() + keep_seconds
            self._wake()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_id(self) -> int:
        return len(self._events)

    @property
    def final(self) -> StreamEvent | None:
        return self._events[-1] if self._closed and self._events else None

    def expired(self, now: float | None = None) -> bool:
        if self._expires_at is None:
            return False
        return (time.monotonic() if now is None else now) >= self._expires_at

    def attach(self) -> None:
        self._subscribers += 1
        self._idle_since = None

    def detach(self) -> None:
        self._subscribers = max(0, self._subscribers - 1)
        if self._subscribers == 0:
            self._idle_since = time.monotonic()

    @property
    def subscribers(self) -> int:
        return self._subscribers

    def idle_seconds(self, now: float | None = None) -> float:
        if self._idle_since is None:
            return 0.0
        return (time.monotonic() if now is None else now) - self._idle_since

    async def sync(self) -> None:
        """Nothing to do: every reader of an in-process buffer is in this process."""

    def _wake(self) -> None:
        # Readers hold the old event; swapping in a fresh one means no reader misses a wake-up
        # and none has to clear a shared flag.
        waiter, self._wakeup = self._wakeup, asyncio.Event()
        waiter.set()
