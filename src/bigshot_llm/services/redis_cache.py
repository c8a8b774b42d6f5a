"""The model-list cache: aiocache in process, or aiocache's Redis backend shared by replicas.

Keys carry the provider config's update time (see `model_catalog`), so an edit on any replica
makes every replica miss and fetch afresh; the JSON serializer keeps the values readable.
A Redis hiccup degrades to a cache miss (the catalog asks upstream) instead of a failed
request.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from aiocache import BaseCache, RedisCache, SimpleMemoryCache  # type: ignore[import-untyped]
from aiocache.serializers import JsonSerializer  # type: ignore[import-untyped]
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

OPERATION_TIMEOUT_SECONDS = 2.0


class SharedModelCache(RedisCache):  # type: ignore[misc]
    """`aiocache.RedisCache` that treats Redis errors as misses and closes the modern way."""

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
        await self.client.aclose()


def make_model_cache(redis_url: str | None, prefix: str) -> BaseCache:
    """Redis when configured (``redis://`` or ``rediss://``), else in process."""
    if not redis_url:
        return SimpleMemoryCache()
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss"):
        log.warning("model cache: %s URLs are not supported by aiocache; in process", parts.scheme)
        return SimpleMemoryCache()
    db = parts.path.strip("/") or "0"
    return SharedModelCache(
        endpoint=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        db=int(db) if db.isdigit() else 0,
        password=unquote(parts.password) if parts.password else None,
        ssl=parts.scheme == "rediss",
        namespace=f"{prefix}:models:",
        serializer=JsonSerializer(),
        timeout=OPERATION_TIMEOUT_SECONDS,
    )
