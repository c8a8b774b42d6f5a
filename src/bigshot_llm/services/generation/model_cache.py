"""The model-list cache: aiocache in process, or aiocache's Redis backend shared by replicas.

Keys carry the provider config's update time (see `catalog`), so an edit on any replica
makes every replica miss and fetch afresh; the JSON serializer keeps the values readable.
A Redis hiccup degrades to a cache miss (the catalog asks upstream) instead of a failed
request.
"""

from __future__ import annotations

import logging
from typing import Any

from aiocache import BaseCache, RedisCache, SimpleMemoryCache  # type: ignore[import-untyped]
from aiocache.serializers import JsonSerializer  # type: ignore[import-untyped]
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

OPERATION_TIMEOUT_SECONDS = 2.0


class SharedModelCache(RedisCache):  # type: ignore[misc]
    """`aiocache.RedisCache` on the process's shared Redis client, treating Redis errors as
    misses; closing the cache leaves the shared client open (the cluster closes it)."""

    def __init__(self, redis: Redis, *, namespace: str) -> None:
        super().__init__(
            namespace=namespace, serializer=JsonSerializer(), timeout=OPERATION_TIMEOUT_SECONDS
        )
        self.client = redis

    async def _get(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        try:
            return await super()._get(key, encoding=encoding, _conn=_conn)
        except (RedisError, OSError):
            log.warning("model cache: Redis unavailable; treating as a miss")
            return None

    async def _set(
        self, key: str, value: Any, ttl: Any = None, _cas_token: Any = None, _conn: Any = None
    ) -> Any:
        # aiocache 0.12 calls SETEX/PSETEX, which redis-py 5+ deprecates: SET with PX instead.
        try:
            if _cas_token is not None:
                return await self._cas(key, value, _cas_token, ttl=ttl, _conn=_conn)
            if ttl is None:
                return await self.client.set(key, value)
            return await self.client.set(key, value, px=max(1, int(float(ttl) * 1000)))
        except (RedisError, OSError):
            return False

    async def _delete(self, key: str, _conn: Any = None) -> Any:
        try:
            return await super()._delete(key, _conn=_conn)
        except (RedisError, OSError):
            return 0

    async def _close(self, *args: Any, _conn: Any = None, **kwargs: Any) -> None:
        """The client is shared: nothing of the cache's own to close."""


def make_model_cache(redis: Redis | None, *, namespace: str) -> BaseCache:
    """In Redis (through the process's one client) when there is one, else in process."""
    if redis is None:
        return SimpleMemoryCache()
    return SharedModelCache(redis, namespace=namespace)
