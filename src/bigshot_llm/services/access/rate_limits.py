"""Request-rate limits and concurrent-stream caps per API key, shared across processes.

Built on `limits` (the library under slowapi) through its asyncio API: slowapi's decorators
take a limit fixed per route and call the storage synchronously, while here the limit depends
on the caller's key and role and every check must stay off the event loop's blocking path.
Storage is in process on the embedded default and Redis when `BIGSHOT_REDIS_URL` is set, so a
limit of N per minute admits N in total across workers and replicas.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from bigshot_llm.errors import RateLimited
from bigshot_llm.services.access.auth import Principal

log = logging.getLogger(__name__)

FAILED_AUTH_PER_MINUTE = 30


@dataclass(frozen=True, slots=True)
class LimitState:
    """What the X-RateLimit-* headers report."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


def make_storage(redis: Redis | None, prefix: str) -> Storage:
    """In process, or in Redis through the process's shared connection pool."""
    if redis is None:
        return MemoryStorage()
    return RedisStorage(
        "async+redis://",  # the pool below decides where; the URI only picks the driver
        implementation="redispy",
        key_prefix=prefix,
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )


class RateLimits:
    """Per-key request limits (per minute) and failed-authentication limits per address."""

    def __init__(
        self,
        storage: Storage,
        *,
        user_per_minute: int | None,
        admin_per_minute: int | None,
        fail_open: bool = True,
    ) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.user_per_minute = user_per_minute
        self.admin_per_minute = admin_per_minute
        self.fail_open = fail_open
        self.storage_errors = 0

    def limit_for(self, principal: Principal, override: int | None = None) -> int | None:
        if override is not None:
            return override or None  # 0 means unlimited
        return self.admin_per_minute if principal.is_admin else self.user_per_minute

    async def hit_key(self, principal: Principal, override: int | None = None) -> LimitState | None:
        """Count one request of this key; raises RateLimited past its limit."""
        per_minute = self.limit_for(principal, override)
        if not per_minute:
            return None
        return await self._hit(RateLimitItemPerMinute(per_minute), "key", principal.key_id)

    async def hit_failed_auth(self, address: str) -> None:
        """Count one failed authentication from an address (brute force of keys)."""
        await self._hit(RateLimitItemPerMinute(FAILED_AUTH_PER_MINUTE), "auth-fail", address)

    async def failed_auth_blocked(self, address: str) -> bool:
        item = RateLimitItemPerMinute(FAILED_AUTH_PER_MINUTE)
        try:
            return not await self.limiter.test(item, "auth-fail", address)
        except Exception:  # noqa: BLE001 - storage down: see fail_open
            return self._storage_down()

    async def _hit(self, item: RateLimitItemPerMinute, *scope: str) -> LimitState:
        try:
            allowed = await self.limiter.hit(item, *scope)
            stats = await self.limiter.get_window_stats(item, *scope)
        except Exception:  # noqa: BLE001 - storage down: see fail_open
            if self._storage_down():
                raise RateLimited(
                    "rate limiting is unavailable; try again shortly",
                    headers={"Retry-After": "5"},
                ) from None
            return LimitState(item.amount, item.amount, time.time() + 60)
        state = LimitState(item.amount, stats.remaining, stats.reset_time)
        if not allowed:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(
                f"rate limit of {item.amount} requests per minute exceeded; "
                f"retry in {retry_after} s",
                headers={"Retry-After": str(retry_after), **state.headers()},
            )
        return state

    def _storage_down(self) -> bool:
        """Count the failure; True means refuse (fail closed)."""
        self.storage_errors += 1
        log.warning("rate-limit storage unavailable (fail_open=%s)", self.fail_open)
        return not self.fail_open
