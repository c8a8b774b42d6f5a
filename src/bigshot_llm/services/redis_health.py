"""Whether Redis may be asked right now, shared by everything that has an in-process fallback.

Every Redis call is bounded by the client's socket timeout (`BIGSHOT_REDIS_SOCKET_TIMEOUT`),
but a hung Redis would still cost that wait on each call, several per request. So after a
failure (refused, reset, or no answer in time) the rate limits, stream slots and model cache
skip Redis for `retry_seconds` and use their in-process versions, then try it again: a sick
Redis costs one bounded wait per period, and a dead one and a hung one are handled alike.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a failing Redis raises: the client's own errors, and raw socket errors it lets through.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


class RedisHealth:
    """A small circuit breaker: `available` is False for `retry_seconds` after `failed()`."""

    def __init__(self, retry_seconds: float = 2.0) -> None:
        self.retry_seconds = retry_seconds
        self.failures = 0
        self._skip_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._skip_until

    def failed(self, what: str, exc: BaseException) -> None:
        """Count a failure and skip Redis for a while (logged once per period)."""
        self.failures += 1
        if self.available:
            log.warning(
                "Redis unavailable (%s in %s): in-process fallbacks for %.1f s",
                type(exc).__name__,
                what,
                self.retry_seconds,
            )
        self._skip_until = time.monotonic() + self.retry_seconds
