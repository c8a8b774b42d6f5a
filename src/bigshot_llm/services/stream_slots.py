"""Caps on concurrent streams per API key, in process or in Redis (shared by replicas).

A slot is taken before the upstream request starts and given back when the stream ends, however
it ends. Redis counters carry a TTL so a crashed replica cannot hold slots forever.

When Redis fails, the cap follows the rate limits' choice (`fail_open`): by default the stream
goes ahead uncounted (a warning, and `storage_errors` for the metrics), else it is refused
with 429. Each call tries Redis again, so the cap is back as soon as Redis is.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from redis.exceptions import RedisError

from bigshot_llm.errors import RateLimited

log = logging.getLogger(__name__)

REDIS_SLOT_TTL_SECONDS = 3600


class StreamSlots:
    def __init__(self, redis: Any | None = None, *, fail_open: bool = True) -> None:
        self._redis = redis
        self.fail_open = fail_open
        self.storage_errors = 0
        self._counts: dict[str, int] = defaultdict(int)
        self._lock = asyncio.Lock()

    async def acquire(self, key_id: str, limit: int | None) -> str | None:
        """Take a slot for `key_id`; returns a handle for `release`, or None when unlimited."""
        if not limit:
            return None
        if self._redis is not None:
            name = f"bigshot:streams:{key_id}"
            try:
                count = int(await self._redis.incr(name))
                await self._redis.expire(name, REDIS_SLOT_TTL_SECONDS)
                if count > limit:
                    await self._redis.decr(name)
            except (RedisError, OSError):
                self._storage_down()
                return None  # not counted, so nothing to give back
            if count > limit:
                raise self._refused(limit)
            return name
        async with self._lock:
            if self._counts[key_id] >= limit:
                raise self._refused(limit)
            self._counts[key_id] += 1
        return key_id

    async def release(self, handle: str | None) -> None:
        if handle is None:
            return
        if self._redis is not None:
            try:
                await self._redis.decr(handle)
            except (RedisError, OSError):
                # Left counted until the key's TTL, or gone with a Redis that lost its data.
                self.storage_errors += 1
                log.warning("stream slots: Redis unavailable; slot %s not released", handle)
            return
        async with self._lock:
            self._counts[handle] = max(0, self._counts[handle] - 1)
            if not self._counts[handle]:
                del self._counts[handle]

    def active(self, key_id: str) -> int:
        return self._counts.get(key_id, 0)

    def _storage_down(self) -> None:
        """Count the failure; raise when the cap must fail closed."""
        self.storage_errors += 1
        log.warning("stream slots: Redis unavailable (fail_open=%s)", self.fail_open)
        if not self.fail_open:
            raise RateLimited(
                "stream limits are unavailable; try again shortly",
                code="too_many_streams",
                headers={"Retry-After": "5"},
            )

    @staticmethod
    def _refused(limit: int) -> RateLimited:
        return RateLimited(
            f"too many concurrent streams: this key may run {limit} at a time; "
            "wait for one to finish or stop one",
            code="too_many_streams",
            headers={"Retry-After": "1"},
        )
