"""Chat-stream event logs in Redis, so an EventSource reconnect may land on any replica.

One stream uses three keys under the configured prefix:

* ``{p}:cs:{id}:meta``: a hash of the `StreamMeta` (owner, token hash, conversation …), the
  owning replica and a ``closed`` flag: any replica can authorise a reader and report status;
* ``{p}:cs:{id}:events``: a Redis Stream; event *n* is stored under the id ``0-n``, so
  ``XREAD BLOCK`` from ``0-<Last-Event-ID>`` returns exactly the events after it, live;
* ``{p}:cs:{id}:subs``: a hash of connected readers per buffer object, so the owning
  replica's grace timer sees clients connected to other replicas.

The owner (the replica running the generation) refreshes the keys' TTL while it runs
(``LIVE_TTL_SECONDS``: a crashed owner's stream expires and its readers end) and sets the
`keep` TTL when it closes. Cancelling from another replica is a pub/sub message to the owner
(`RedisBus`), which holds the task.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

import orjson

from bigshot_llm.services.chat.buffers.memory import StreamEvent, StreamMeta

LIVE_TTL_SECONDS = 60
READ_BLOCK_MS = 1000
FINAL_EVENTS = frozenset({"done", "error"})

CancelPublisher = Callable[[str, str], Awaitable[None]]


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _seq(entry_id: Any) -> int:
    return int(_s(entry_id).split("-", 1)[1])


def _meta_hash(meta: StreamMeta, replica: str) -> dict[str, str]:
    return {
        "stream_id": meta.stream_id,
        "owner_id": meta.owner_id,
        "conversation_id": meta.conversation_id,
        "token_hash": meta.token_hash,
        "provider": meta.provider,
        "model": meta.model,
        "created_at": repr(meta.created_at),
        "context": orjson.dumps(meta.context).decode(),
        "user_message_id": meta.user_message_id or "",
        "key_id": meta.key_id,
        "continues_message_id": meta.continues_message_id or "",
        "replica": replica,
        "closed": "0",
    }


def _meta_from_hash(raw: dict[Any, Any]) -> StreamMeta:
    h = {_s(k): _s(v) for k, v in raw.items()}
    return StreamMeta(
        stream_id=h["stream_id"],
        owner_id=h["owner_id"],
        conversation_id=h["conversation_id"],
        token_hash=h["token_hash"],
        provider=h["provider"],
        model=h["model"],
        created_at=float(h["created_at"]),
        context=orjson.loads(h["context"]),
        user_message_id=h["user_message_id"] or None,
        key_id=h.get("key_id", ""),
        continues_message_id=h.get("continues_message_id") or None,
    )


@dataclass(eq=False)
class RedisStreamStore:
    """Creates owner buffers, loads other replicas' streams, and asks owners to cancel."""

    redis: Any
    _: KW_ONLY
    prefix: str
    replica_id: str
    publish_cancel: CancelPublisher | None = None

    def keys(self, stream_id: str) -> tuple[str, str, str]:
        base = f"{self.prefix}:cs:{stream_id}"
        return f"{base}:meta", f"{base}:events", f"{base}:subs"

    def create(self, meta: StreamMeta) -> RedisStreamBuffer:
        """The owner's buffer (the `StreamManager`'s buffer factory)."""
        return RedisStreamBuffer(meta, self, owner=True)

    async def load(self, stream_id: str) -> RedisStreamBuffer | None:
        """A reader's view of a stream another replica runs, or None when unknown/expired."""
        if not stream_id.isalnum() or len(stream_id) > 64:
            return None
        raw = await self.redis.hgetall(self.keys(stream_id)[0])
        if not raw:
            return None
        buffer = RedisStreamBuffer(_meta_from_hash(raw), self, owner=False)
        await buffer.sync()
        return buffer

    async def cancel(self, stream_id: str, reason: str) -> None:
        if self.publish_cancel is not None:
            await self.publish_cancel(stream_id, reason)


class RedisStreamBuffer:
    """A `StreamBuffer` in Redis: written by the owning replica, readable from all of them."""

    def __init__(self, meta: StreamMeta, store: RedisStreamStore, *, owner: bool) -> None:
        self.meta = meta
        self.store = store
        self.owner = owner
        self._redis = store.redis
        self._meta_key, self._events_key, self._subs_key = store.keys(meta.stream_id)
        self._subs_field = f"{store.replica_id}:{uuid.uuid4().hex[:8]}"
        self._published = False
        self._last_id = 0
        self._unsure = False  # whether the last append may have been stored without a reply
        self._closed = False
        self._gone = False
        self._final: StreamEvent | None = None
        self._expires_at: float | None = None
        self._local_subs = 0
        self._remote_subs = 0
        self._idle_since: float | None = time.monotonic()
        self._subs_lock = asyncio.Lock()
        self._subs_writes: set[asyncio.Task[None]] = set()

    # ---- writing (owner) ------------------------------------------------------------------

    async def append(self, event: str, data: dict[str, Any]) -> int:
        if not self.owner or self._closed:
            raise RuntimeError("the stream buffer is closed or not owned here")
        if self._unsure:
            # The last write was cut short (cancelled, timed out): Redis may have stored it.
            # Its id is taken then, and reusing it would be refused: learn the stream's top.
            last = await self._redis.xrevrange(self._events_key, count=1)
            if last:
                self._last_id = max(self._last_id, _seq(last[0][0]))
            self._unsure = False
        seq = self._last_id + 1
        self._unsure = True
        await self._redis.xadd(
            self._events_key, {"e": event, "d": orjson.dumps(data)}, id=f"0-{seq}"
        )
        self._unsure = False
        self._last_id = seq
        if event in FINAL_EVENTS:
            self._final = StreamEvent(seq, event, data)
        return seq

    async def close(self, keep_seconds: float) -> None:
        if not self.owner or self._closed:
            return
        self._closed = True
        self._expires_at = time.monotonic() + keep_seconds
        ttl = max(1, int(keep_seconds))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._meta_key, "closed", "1")
            for key in (self._meta_key, self._events_key, self._subs_key):
                pipe.expire(key, ttl)
            await pipe.execute()

    # ---- reading (anyone) -----------------------------------------------------------------

    async def read_after(self, last_id: int) -> AsyncIterator[StreamEvent]:
        cursor = max(last_id, 0)
        while True:
            answer = await self._redis.xread(
                {self._events_key: f"0-{cursor}"}, count=200, block=READ_BLOCK_MS
            )
            entries = answer[0][1] if answer else []
            for entry_id, fields in entries:
                f = {_s(k): v for k, v in fields.items()}
                item = StreamEvent(_seq(entry_id), _s(f["e"]), orjson.loads(f["d"]))
                cursor = item.id
                yield item
                if item.event in FINAL_EVENTS:
                    return
            if not entries and await self._ended(cursor):
                return

    async def _ended(self, cursor: int) -> bool:
        """After a quiet second: is the stream gone, or closed with nothing after `cursor`?"""
        closed = await self._redis.hget(self._meta_key, "closed")
        if closed is None:
            return True  # expired: its owner crashed or it is long over
        if _s(closed) != "1":
            return False
        last = await self._redis.xrevrange(self._events_key, count=1)
        return not last or _seq(last[0][0]) <= cursor

    # ---- state ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_id(self) -> int:
        return self._last_id

    @property
    def final(self) -> StreamEvent | None:
        return self._final if self._closed else None

    def expired(self, now: float | None = None) -> bool:
        if self._gone:
            return True
        if self._expires_at is None:
            return False
        return (time.monotonic() if now is None else now) >= self._expires_at

    def attach(self) -> None:
        self._local_subs += 1
        self._subs_changed()

    def detach(self) -> None:
        self._local_subs = max(0, self._local_subs - 1)
        self._subs_changed()

    @property
    def subscribers(self) -> int:
        return self._local_subs + self._remote_subs

    def idle_seconds(self, now: float | None = None) -> float:
        if self._idle_since is None:
            return 0.0
        return (time.monotonic() if now is None else now) - self._idle_since

    async def sync(self) -> None:
        """Owner: publish the meta once, then keep the keys alive and count remote readers.
        Reader: learn how far the stream got and whether it is over."""
        if self.owner:
            await self._sync_owner()
        else:
            await self._sync_reader()

    async def _sync_owner(self) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            if not self._published:
                pipe.hset(self._meta_key, mapping=_meta_hash(self.meta, self.store.replica_id))
            if not self._closed:
                for key in (self._meta_key, self._events_key, self._subs_key):
                    pipe.expire(key, LIVE_TTL_SECONDS)
            pipe.hgetall(self._subs_key)
            results = await pipe.execute()
        self._published = True
        self._remote_subs = sum(max(0, int(_s(v))) for v in results[-1].values())
        self._update_idle()

    async def _sync_reader(self) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._meta_key, "closed")
            pipe.xrevrange(self._events_key, count=1)
            closed, last = await pipe.execute()
        self._gone = closed is None
        self._closed = closed is not None and _s(closed) == "1"
        if last:
            entry_id, fields = last[0]
            f = {_s(k): v for k, v in fields.items()}
            self._last_id = _seq(entry_id)
            if _s(f["e"]) in FINAL_EVENTS:
                # A final event is always the last one: over, even before the flag is set.
                self._final = StreamEvent(self._last_id, _s(f["e"]), orjson.loads(f["d"]))
                self._closed = True

    def status(self) -> str:
        """running | complete | cancelled | error, as the final event tells."""
        final = self.final
        if final is None:
            return "running"
        if final.event == "error":
            return "error"
        return "cancelled" if final.data.get("finish_reason") == "cancelled" else "complete"

    # ---- subscriber bookkeeping -----------------------------------------------------------

    def _update_idle(self) -> None:
        if self.subscribers > 0:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = time.monotonic()

    def _subs_changed(self) -> None:
        self._update_idle()
        if self.owner:
            return  # the owner counts its own readers locally
        task = asyncio.get_running_loop().create_task(self._write_subs())
        self._subs_writes.add(task)
        task.add_done_callback(self._subs_writes.discard)

    async def _write_subs(self) -> None:
        # Each write carries the current count under a lock, so the last one always wins.
        async with self._subs_lock:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    if self._local_subs:
                        pipe.hset(self._subs_key, self._subs_field, self._local_subs)
                    else:
                        pipe.hdel(self._subs_key, self._subs_field)
                    pipe.expire(self._subs_key, LIVE_TTL_SECONDS)
                    await pipe.execute()
            except Exception:  # noqa: BLE001 - a missed count only delays the grace timer
                return
