"""The cap on concurrent streams: one rule for every surface, counted per user.

Every generation a client watches as a stream holds one slot while it runs: a native or
`/v1` stream, a background chat stream, a comparison (one slot for all its targets). A user
may hold `limit` slots at once, whichever keys and surfaces they use; the limit is the key's
own `max_streams` when an admin set one (0: unlimited), else the role's default
(`BIGSHOT_MAX_STREAMS_USER` for users; admins are unlimited).

Slots are counted in process, or in Redis (shared by every replica) when the cluster has it;
Redis counters carry a TTL so a crashed replica cannot hold slots forever. When Redis fails,
the cap follows the rate limits' choice (`fail_open`): by default the stream goes ahead
uncounted (a warning, and `storage_errors` for the metrics), else it is refused with 429.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bigshot_llm.errors import RateLimited
from bigshot_llm.services.access.auth import Principal

log = logging.getLogger(__name__)

REDIS_SLOT_TTL_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Slot:
    """A held slot; give it back with `StreamSlots.release`."""

    user_id: str
    counted_in_redis: bool


class StreamSlots:
    def __init__(
        self,
        redis: Redis | None = None,
        *,
        prefix: str = "bigshot:streams",
        user_limit: int | None = None,
        fail_open: bool = True,
    ) -> None:
        self._redis = redis
        self.prefix = prefix
        self.user_limit = user_limit or None
        self.fail_open = fail_open
        self.storage_errors = 0
        self._counts: dict[str, int] = defaultdict(int)
        self._lock = asyncio.Lock()

    def limit_for(self, principal: Principal) -> int | None:
        """The caller's cap (None: unlimited)."""
        if principal.max_streams is not None:
            return principal.max_streams or None  # 0 means unlimited
        return None if principal.is_admin else self.user_limit

    async def acquire(self, principal: Principal) -> Slot | None:
        """Take a slot for the caller's user; None when unlimited (nothing to give back)."""
        limit = self.limit_for(principal)
        if not limit:
            return None
        user = principal.user_id
        if self._redis is not None:
            name = self._name(user)
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
            return Slot(user, counted_in_redis=True)
        async with self._lock:
            if self._counts[user] >= limit:
                raise self._refused(limit)
            self._counts[user] += 1
        return Slot(user, counted_in_redis=False)

    async def release(self, slot: Slot | None) -> None:
        if slot is None:
            return
        if slot.counted_in_redis:
            assert self._redis is not None
            try:
                await self._redis.decr(self._name(slot.user_id))
            except (RedisError, OSError):
                # Left counted until the key's TTL, or gone with a Redis that lost its data.
                self.storage_errors += 1
                log.warning("stream slots: Redis unavailable; a slot of %s not released", slot)
            return
        async with self._lock:
            self._counts[slot.user_id] = max(0, self._counts[slot.user_id] - 1)
            if not self._counts[slot.user_id]:
                del self._counts[slot.user_id]

    def active(self, user_id: str) -> int:
        """Slots this process counts for a user (in-process counting only)."""
        return self._counts.get(user_id, 0)

    def _name(self, user_id: str) -> str:
        return f"{self.prefix}:user:{user_id}"

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
            f"too many concurrent streams: you may run {limit} at a time; wait for one to "
            "finish or stop one (a chat stream with DELETE /api/v1/chat/streams/{id})",
            code="too_many_streams",
            headers={"Retry-After": "1"},
        )
