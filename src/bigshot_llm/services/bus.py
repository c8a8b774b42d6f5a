"""A pub/sub channel between replicas: "what you cached is out of date" and stream control.

Each replica keeps in-process snapshots for speed (provider configs and selections, resolved
API keys). A write on one replica publishes a small JSON message on ``{prefix}:bus``; every
other replica applies it within a round trip: it reloads the provider snapshot, forgets a
revoked key, or cancels a chat stream it owns. Messages a replica sent itself are ignored
(it applied the change before publishing).

Pub/sub does not queue: a replica that was disconnected may have missed messages, so after
every (re)subscription the `on_resync` handlers run (reload everything). Without Redis the
bus is simply absent and every change is local, which is all one process needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from bigshot_llm.aio import stop_task

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
RECONNECT_DELAY_SECONDS = 0.5

PROVIDERS_CHANGED = "providers"
KEY_INVALIDATED = "auth"
STREAM_CANCEL = "stream.cancel"


class RedisBus:
    """Publishes and dispatches invalidation messages; `start()` subscribes, `close()` stops."""

    def __init__(self, redis: Any, *, prefix: str, replica_id: str | None = None) -> None:
        self.redis = redis
        self.channel = f"{prefix}:bus"
        self.replica_id = replica_id or uuid.uuid4().hex[:12]
        self._handlers: dict[str, list[Handler]] = {}
        self._resync: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.received = 0
        self.resyncs = 0  # completed resyncs after a resubscription
        self._reconnected = False  # set when redis-py reconnected the subscription itself

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def on_resync(self, handler: Callable[[], Awaitable[None]]) -> None:
        self._resync.append(handler)

    async def publish(self, kind: str, **data: Any) -> None:
        message = orjson.dumps({"kind": kind, "from": self.replica_id, **data})
        await self.redis.publish(self.channel, message)

    async def start(self, timeout: float = 5.0) -> None:
        """Subscribe and wait until the subscription is live (so no change slips by)."""
        self._task = asyncio.create_task(self._run(), name="redis-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        if not self._subscribed.is_set():
            log.warning("redis bus: not subscribed yet; retrying in the background")

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        first = True
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed.set()
                    if not first:
                        await self._run_resync()
                    first = False
                    # redis-py reconnects a dropped connection and subscribes again without
                    # telling: hear of it, since what was published meanwhile is lost.
                    connection = pubsub.connection
                    connection.register_connect_callback(self._on_reconnect)
                    try:
                        await self._listen(pubsub)
                    finally:
                        connection.deregister_connect_callback(self._on_reconnect)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("redis bus: connection lost; resubscribing", exc_info=True)
                self._subscribed.clear()
                await asyncio.sleep(RECONNECT_DELAY_SECONDS)

    def _on_reconnect(self, _connection: Any) -> None:
        self._reconnected = True

    async def _listen(self, pubsub: Any) -> None:
        self._reconnected = False
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if self._reconnected:  # subscribed again by redis-py: catch up as after our own
                self._reconnected = False
                await self._run_resync()
            if message is None or message.get("type") != "message":
                continue
            try:
                data = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                continue
            if not isinstance(data, dict) or data.get("from") == self.replica_id:
                continue
            self.received += 1
            for handler in self._handlers.get(str(data.get("kind")), []):
                try:
                    await handler(data)
                except Exception:
                    log.exception("redis bus: handling %s failed", data.get("kind"))

    async def _run_resync(self) -> None:
        for handler in self._resync:
            try:
                await handler()
            except Exception:
                log.exception("redis bus: resync failed")
        self.resyncs += 1
