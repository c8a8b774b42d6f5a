"""The model-list cache: aiocache in process, or aiocache's Redis backend shared by replicas.

Keys carry the provider config's update time (see `catalog`), so an edit on any replica
makes every replica miss and fetch afresh; the JSON serializer keeps the values readable.

Redis trouble never fails a request: every value is also kept in an in-process copy, which is
read instead of Redis while `RedisHealth` says to skip it (Redis failed moments ago: down, or
no answer within the client's socket timeout). A Redis error on a read counts as a failure and
falls back the same way, so a hung Redis costs a model list one bounded wait, then none.
"""

from __future__ import annotations

from typing import Any

from aiocache import BaseCache, RedisCache, SimpleMemoryCache  # type: ignore[import-untyped]
from aiocache.serializers import JsonSerializer  # type: ignore[import-untyped]
from redis.asyncio import Redis

from bigshot_llm.services.redis_health import REDIS_ERRORS, RedisHealth


class SharedModelCache(RedisCache):  # type: ignore[misc]
    """`aiocache.RedisCache` on the process's shared Redis client, with an in-process copy
    for when Redis fails; closing the cache leaves the shared client open (the cluster
    closes it)."""

    def __init__(self, redis: Redis, *, namespace: str, health: RedisHealth | None = None) -> None:
        # No aiocache timeout of its own: the client's socket timeout bounds each call, and
        # aiocache's would raise a bare TimeoutError past the handling below.
        super().__init__(namespace=namespace, serializer=JsonSerializer(), timeout=0)
        self.client = redis
        self.health = health or RedisHealth()
        self.local = SimpleMemoryCache()  # holds the serialized values, as Redis does

    async def _get(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        if self.health.available:
            try:
                return await super()._get(key, encoding=encoding, _conn=_conn)
            except REDIS_ERRORS as exc:
                self.health.failed("the model cache", exc)
        return await self.local._get(key, encoding=encoding)

    async def _set(
        self, key: str, value: Any, ttl: Any = None, _cas_token: Any = None, _conn: Any = None
    ) -> Any:
        await self.local._set(key, value, ttl=ttl)
        if not self.health.available:
            return False
        # aiocache 0.12 calls SETEX/PSETEX, which redis-py 5+ deprecates: SET with PX instead.
        try:
            if _cas_token is not None:
                return await self._cas(key, value, _cas_token, ttl=ttl, _conn=_conn)
            if ttl is None:
                return await self.client.set(key, value)
            return await self.client.set(key, value, px=max(1, int(float(ttl) * 1000)))
        except REDIS_ERRORS as exc:
            self.health.failed("the model cache", exc)
            return False

    async def _delete(self, key: str, _conn: Any = None) -> Any:
        await self.local._delete(key)
        if not self.health.available:
            return 0
        try:
            return await super()._delete(key, _conn=_conn)
        except REDIS_ERRORS as exc:
            self.health.failed("the model cache", exc)
            return 0

    async def _close(self, *args: Any, _conn: Any = None, **kwargs: Any) -> None:
        """The client is shared: nothing of the cache's own to close."""


def make_model_cache(
    redis: Redis | None, *, namespace: str, health: RedisHealth | None = None
) -> BaseCache:
    """In Redis (through the process's one client) when there is one, else in process."""
    if redis is None:
        return SimpleMemoryCache()
    return SharedModelCache(redis, namespace=namespace, health=health)
