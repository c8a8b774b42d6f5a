"""The cap on concurrent streams: one rule for every surface, counted per user.

Every generation a client watches as a stream holds one slot while it runs: a native or
`/v1` stream, a background chat stream, a comparison (one slot for all its targets). A user
may hold `limit` slots at once, whichever keys and surfaces they use: the user's own
`max_streams` when an admin set one (0: unlimited), else the role's default
(`BIGSHOT_MAX_STREAMS_USER` for users; admins are unlimited). A key with a `max_streams` of
its own is counted per key as well, so its limit can only lower the user's, never add to it:
three keys of one user share the user's slots.

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

    names: tuple[str, ...]  # the counters it holds: the user's, maybe the key's
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
        """The caller's user's cap (None: unlimited)."""
        if principal.user_max_streams is not None:
            return principal.user_max_streams or None  # 0 means unlimited
        return None if principal.is_admin else self.user_limit

    def limits(self, principal: Principal) -> list[tuple[str, int]]:
        """The counters a stream of this caller takes, each with its cap."""
        found: list[tuple[str, int]] = []
        user_limit = self.limit_for(principal)
        if user_limit:
            found.append((self._name("user", principal.user_id), user_limit))
        key_limit = principal.max_streams
        if key_limit and (user_limit is None or key_limit < user_limit):
            found.append((self._name("key", principal.key_id), key_limit))
        return found

    async def acquire(self, principal: Principal) -> Slot | None:
        """Take a slot for the caller (its user, and its key when the key has a limit of its
        own); None when unlimited (nothing to give back)."""
        limits = self.limits(principal)
        if not limits:
            return None
        names = tuple(name for name, _ in limits)
        if self._redis is not None:
            return await self._acquire_redis(limits, names)
        async with self._lock:
            for name, limit in limits:
                if self._counts[name] >= limit:
                    raise self._refused(limit, per_key=name.startswith(f"{self.prefix}:key:"))
            for name in names:
                self._counts[name] += 1
        return Slot(names, counted_in_redis=False)

    async def _acquire_redis(
        self, limits: list[tuple[str, int]], names: tuple[str, ...]
    ) -> Slot | None:
        assert self._redis is not None
        taken: list[str] = []
        try:
            for name, limit in limits:
                count = int(await self._redis.incr(name))
                taken.append(name)
                await self._redis.expire(name, REDIS_SLOT_TTL_SECONDS)
                if count > limit:
                    for held in taken:
                        await self._redis.decr(held)
                    raise self._refused(limit, per_key=name.startswith(f"{self.prefix}:key:"))
        except (RedisError, OSError):
            self._storage_down()
            return None  # not counted, so nothing to give back
        return Slot(names, counted_in_redis=True)

    async def release(self, slot: Slot | None) -> None:
        if slot is None:
            return
        if slot.counted_in_redis:
            assert self._redis is not None
            try:
                for name in slot.names:
                    await self._redis.decr(name)
            except (RedisError, OSError):
                # Left counted until the key's TTL, or gone with a Redis that lost its data.
                self.storage_errors += 1
                log.warning("stream slots: Redis unavailable; a slot of %s not released", slot)
            return
        async with self._lock:
            for name in slot.names:
                self._counts[name] = max(0, self._counts[name] - 1)
                if not self._counts[name]:
                    del self._counts[name]

    def active(self, user_id: str) -> int:
        """Slots this process counts for a user (in-process counting only)."""
        return self._counts.get(self._name("user", user_id), 0)

    def _name(self, kind: str, ident: str) -> str:
        return f"{self.prefix}:{kind}:{ident}"

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
    def _refused(limit: int, *, per_key: bool = False) -> RateLimited:
        who = "this key may" if per_key else "you may"
        return RateLimited(
            f"too many concurrent streams: {who} run {limit} at a time (over all your keys "
            "and surfaces); wait for one to finish or stop one (a chat stream with "
            "DELETE /api/v1/chat/streams/{id})",
            code="too_many_streams",
            headers={"Retry-After": "1"},
        )
