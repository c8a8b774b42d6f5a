"""What turns N replicas into one gateway when `BIGSHOT_REDIS_URL` is set, wired in one place.

* the model-list cache in Redis (`redis_cache`),
* chat-stream buffers in Redis (`redis_stream_buffer`), so streams resume on any replica,
* the pub/sub bus (`redis_bus`): provider configs and selections reload, revoked keys are
  forgotten and chat streams are cancelled on every replica.

Rate limits and concurrent-stream slots take the Redis URL directly (`rate_limits`,
`stream_slots`). Without Redis, `ScaleOut` hands out the in-process defaults and does nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiocache import BaseCache  # type: ignore[import-untyped]

from bigshot_llm.services.app_state import AppState
from bigshot_llm.services.chat_streams import BufferFactory, StreamManager
from bigshot_llm.services.redis_bus import (
    KEY_INVALIDATED,
    PROVIDERS_CHANGED,
    STREAM_CANCEL,
    RedisBus,
)
from bigshot_llm.services.redis_cache import make_model_cache
from bigshot_llm.services.redis_stream_buffer import RedisStreamStore
from bigshot_llm.services.stream_buffer import MemoryStreamBuffer
from bigshot_llm.settings import Settings


@dataclass
class ScaleOut:
    replica_id: str
    model_cache: BaseCache
    bus: RedisBus | None = None
    store: RedisStreamStore | None = None

    @classmethod
    def create(cls, settings: Settings, redis: Any | None) -> ScaleOut:
        replica_id = uuid.uuid4().hex[:12]
        cache = make_model_cache(settings.redis_url, settings.redis_prefix)
        if redis is None:
            return cls(replica_id, cache)
        prefix = settings.redis_prefix
        bus = RedisBus(redis, prefix=prefix, replica_id=replica_id)

        async def publish_cancel(stream_id: str, reason: str) -> None:
            await bus.publish(STREAM_CANCEL, stream_id=stream_id, reason=reason)

        store = RedisStreamStore(
            redis, prefix=prefix, replica_id=replica_id, publish_cancel=publish_cancel
        )
        return cls(replica_id, cache, bus, store)

    @property
    def buffer_factory(self) -> BufferFactory:
        return self.store.create if self.store is not None else MemoryStreamBuffer

    async def start(self, state: AppState, streams: StreamManager) -> None:
        """Subscribe to the bus and hook the local writers up to it."""
        bus = self.bus
        if bus is None:
            return
        registry, auth = state.registry, state.auth

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

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()
