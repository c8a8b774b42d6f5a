"""What turns N replicas into one gateway when `BIGSHOT_REDIS_URL` is set, wired in one place.

`Cluster` owns the one Redis client of the process, and every key any part of the gateway
writes to Redis is made by `Cluster.key` under `BIGSHOT_REDIS_PREFIX`: the model-list cache
(`generation.model_cache`), rate limits (`access.rate_limits`), stream slots
(`access.slots`), chat-stream buffers (`chat.buffers.redis`, so streams resume on any
replica) and the pub/sub bus (`bus`: provider configs and selections reload, revoked keys
are forgotten and chat streams are cancelled on every replica).

Without Redis, `Cluster` hands out the in-process defaults and its bus does nothing.

Every Redis call is bounded: the client's socket and connect timeouts are
`BIGSHOT_REDIS_SOCKET_TIMEOUT` (a few hundred ms; only a lost connection is retried, once).
After a failure `RedisHealth` makes the rate limits, stream slots and model cache use their
in-process versions for `BIGSHOT_REDIS_RETRY_SECONDS`, so a hung Redis is handled like a dead
one and costs one bounded wait per period, not one per call. Chat-stream buffers have no
in-process stand-in (a reader may be on another replica) and block in XREAD for a second, so
they use a second client whose timeout covers the block plus a margin: a busy machine must
not break a stream that a slow answer would only delay.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiocache import BaseCache  # type: ignore[import-untyped]
from redis.asyncio import Redis
from redis.asyncio import from_url as redis_from_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bigshot_llm.db.outage import is_database_outage
from bigshot_llm.services.access.auth import Authenticator
from bigshot_llm.services.bus import KEY_INVALIDATED, PROVIDERS_CHANGED, STREAM_CANCEL, RedisBus
from bigshot_llm.services.chat.buffers.memory import MemoryStreamBuffer
from bigshot_llm.services.chat.buffers.redis import READ_BLOCK_MS, RedisStreamStore
from bigshot_llm.services.chat.streams import BufferFactory, StreamManager
from bigshot_llm.services.generation.model_cache import make_model_cache
from bigshot_llm.services.providers.registry import ProviderRegistry
from bigshot_llm.services.redis_health import REDIS_ERRORS, RedisHealth
from bigshot_llm.settings import Settings

log = logging.getLogger(__name__)

STREAM_MARGIN_SECONDS = 1.0  # chat-stream buffers: beyond the XREAD block and the timeout


def _client(url: str, *, timeout: float, connect_timeout: float) -> Redis:
    """A client whose every call ends within about `timeout`: a connection found closed (a
    restarted Redis) is retried once at once; a timeout is not retried (it would double)."""
    return redis_from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


@dataclass(eq=False)
class Cluster:
    """The shared Redis client (or none), the prefix of every key, and this replica's id."""

    replica_id: str
    prefix: str
    redis: Redis | None = None
    bus: RedisBus | None = None
    store: RedisStreamStore | None = None
    streams_redis: Redis | None = None  # chat-stream buffers (XREAD BLOCK): a longer timeout
    health: RedisHealth = field(default_factory=RedisHealth)

    @classmethod
    def connect(cls, settings: Settings) -> Cluster:
        """The cluster of `settings` (nothing is contacted until first use)."""
        replica_id = uuid.uuid4().hex[:12]
        prefix = settings.redis_prefix
        health = RedisHealth(settings.redis_retry_seconds)
        if not settings.redis_url:
            return cls(replica_id, prefix, health=health)
        timeout = settings.redis_socket_timeout
        redis = _client(settings.redis_url, timeout=timeout, connect_timeout=timeout)
        streams_redis = _client(
            settings.redis_url,
            timeout=READ_BLOCK_MS / 1000 + STREAM_MARGIN_SECONDS + timeout,
            connect_timeout=timeout,
        )
        bus = RedisBus(redis, prefix=prefix, replica_id=replica_id)

        async def publish_cancel(stream_id: str, reason: str) -> None:
            await bus.publish(STREAM_CANCEL, stream_id=stream_id, reason=reason)

        store = RedisStreamStore(
            streams_redis, prefix=prefix, replica_id=replica_id, publish_cancel=publish_cancel
        )
        return cls(replica_id, prefix, redis, bus, store, streams_redis, health)

    def key(self, *parts: str) -> str:
        """A Redis key under the configured prefix: ``{prefix}:part:part``."""
        return ":".join((self.prefix, *parts))

    def model_cache(self) -> BaseCache:
        """The model-list cache: in Redis (sharing this client) when there is one."""
        # aiocache adds the ":" after the namespace
        return make_model_cache(self.redis, namespace=self.key("models"), health=self.health)

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

        async def reload_providers() -> None:
            try:
                await registry.reload()
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                # The snapshot stays as it was: LLM calls go on with the last known configs.
                log.warning("database unavailable: keeping the last provider snapshot")

        async def on_providers(_: dict[str, Any]) -> None:
            await reload_providers()

        async def on_key(message: dict[str, Any]) -> None:
            key_hash = message.get("key_hash")
            auth.invalidate(key_hash if isinstance(key_hash, str) else None)

        async def on_cancel(message: dict[str, Any]) -> None:
            streams.cancel_local(str(message.get("stream_id")), str(message.get("reason")))

        async def resync() -> None:
            await reload_providers()
            auth.expire()

        async def announce_providers() -> None:
            await bus.publish(PROVIDERS_CHANGED)

        async def announce_key(key_hash: str | None) -> None:
            # The key is forgotten here already; a replica that misses this drops it when
            # its bus resubscribes (resync) or its cache entry expires.
            try:
                await bus.publish(KEY_INVALIDATED, key_hash=key_hash)
            except REDIS_ERRORS as exc:
                self.health.failed("the bus", exc)

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
        for client in (self.redis, self.streams_redis):
            if client is not None:
                await client.aclose()
