"""What turns N replicas into one gateway when `BIGSHOT_REDIS_URL` is set, wired in one place.

`Cluster` owns the one Redis client of the process, and every key any part of the gateway
writes to Redis is made by `Cluster.key` under `BIGSHOT_REDIS_PREFIX`: the model-list cache
(`generation.model_cache`), rate limits (`access.rate_limits`), stream slots
(`access.slots`), chat-stream buffers (`chat.buffers.redis`, so streams resume on any
replica) and the pub/sub bus (`bus`: provider configs and selections reload, revoked keys
are forgotten and chat streams are cancelled on every replica).

Without Redis, `Cluster` hands out the in-process defaults and its bus does nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiocache import BaseCache  # type: ignore[import-untyped]
from redis.asyncio import Redis
from redis.asyncio import from_url as redis_from_url

from bigshot_llm.services.access.auth import Authenticator
from bigshot_llm.services.bus import KEY_INVALIDATED, PROVIDERS_CHANGED, STREAM_CANCEL, RedisBus
from bigshot_llm.services.chat.buffers.memory import MemoryStreamBuffer
from bigshot_llm.services.chat.buffers.redis import RedisStreamStore
from bigshot_llm.services.chat.streams import BufferFactory, StreamManager
from bigshot_llm.services.generation.model_cache import make_model_cache
from bigshot_llm.services.providers.registry import ProviderRegistry
from bigshot_llm.settings import Settings


@dataclass(eq=False)
class Cluster:
    """The shared Redis client (or none), the prefix of every key, and this replica's id."""

    replica_id: str
    prefix: str
    redis: Redis | None = None
    bus: RedisBus | None = None
    store: RedisStreamStore | None = None

    @classmethod
    def connect(cls, settings: Settings) -> Cluster:
        """The cluster of `settings` (nothing is contacted until first use)."""
        replica_id = uuid.uuid4().hex[:12]
        prefix = settings.redis_prefix
        if not settings.redis_url:
            return cls(replica_id, prefix)
        redis = redis_from_url(settings.redis_url)
        bus = RedisBus(redis, prefix=prefix, replica_id=replica_id)

        async def publish_cancel(stream_id: str, reason: str) -> None:
            await bus.publish(STREAM_CANCEL, stream_id=stream_id, reason=reason)

        store = RedisStreamStore(
            redis, prefix=prefix, replica_id=replica_id, publish_cancel=publish_cancel
        )
        return cls(replica_id, prefix, redis, bus, store)

    def key(self, *parts: str) -> str:
        """A Redis key under the configured prefix: ``{prefix}:part:part``."""
        return ":".join((self.prefix, *parts))

    def model_cache(self) -> BaseCache:
        """The model-list cache: in Redis (sharing this client) when there is one."""
        return make_model_cache(self.redis, namespace=self.key("models"))  # aiocache adds ":"

    @property
    def buffer_factory(self) -> BufferFactory:
        return self.store.create if self.store is not None else MemoryStreamBuffer

    async def join(
        self, registry: ProviderRegistry, auth: Authenticator, streams: StreamManager
    ) -> None:
        """Subscribe to the bus: what other replicas change is applied here, and what this
        replica changes is published to them."""
        bus = self.bus
        if bus is None:
            return

        async def on_providers(_: dict[str, Any]) -> None:
            await registry.reload()

        async def on_key(message: dict[str, Any]) -> None:
            key_hash = message.get("key_hash")
            auth.invalidate(key_hash if isinstance(key_hash, str) else None)

        async def on_cancel(message: dict[str, Any]) -> None:
            streams.cancel_local(str(message.get("stream_id")), str(message.get("reason")))

        async def resync() -> None:
            await registry.reload()
            auth.invalidate()

        async def announce_providers() -> None:
            await bus.publish(PROVIDERS_CHANGED)

        async def announce_key(key_hash: str | None) -> None:
            await bus.publish(KEY_INVALIDATED, key_hash=key_hash)

        bus.on(PROVIDERS_CHANGED, on_providers)
        bus.on(KEY_INVALIDATED, on_key)
        bus.on(STREAM_CANCEL, on_cancel)
        bus.on_resync(resync)
        registry.on_change(announce_providers)
        auth.on_invalidate(announce_key)
        await bus.start()

    async def leave(self) -> None:
        """Stop listening to the bus (the client itself stays open until `close`)."""
        if self.bus is not None:
            await self.bus.close()

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
