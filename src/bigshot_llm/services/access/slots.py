"""The cap on concurrent streams: one rule for every surface, counted per user.

Every generation a client watches as a stream holds one slot while it runs: a native or
`/v1` stream, a background chat stream, a comparison (one slot for all its targets). A user
may hold `limit` slots at once, whichever keys and surfaces they use: the user's own
`max_streams` when an admin set one (0: unlimited), else the role's default
(`BIGSHOT_MAX_STREAMS_USER` for users; admins are unlimited). A key with a `max_streams` of
its own is counted per key as well, so its limit can only lower the user's, never add to it:
three keys of one user share the user's slots.

Slots are counted in process, or in Redis (shared by every replica) when the cluster has it;
Redis counters carry a TTL so a crashed replica cannot hold slots forever. When Redis fails
(down, or no answer within its socket timeout) the slots are counted in process for as long as
`RedisHealth` says to skip Redis, each replica by itself; with `fail_open=False` streams are
refused with 429 instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

from redis.asyncio import Redis

from bigshot_llm.errors import RateLimited
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.redis_health import REDIS_ERRORS, RedisHealth

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
        health: RedisHealth | None = None,
    ) -> None:
        self._redis = redis
        self.health = health or RedisHealth()
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
            if self.health.available:
                try:
                    return await self._acquire_shared(limits, names)
                except REDIS_ERRORS as exc:
                    self._storage_down(exc)
            elif not self.fail_open:
                raise self._unavailable()
        async with self._lock:  # in process (also while Redis is skipped)
            for name, limit in limits:
                if self._counts[name] >= limit:
                    raise self._refused(limit, per_key=self._is_key(name))
            for name in names:
                self._counts[name] += 1
        return Slot(names, counted_in_redis=False)

    async def _acquire_shared(self, limits: list[tuple[str, int]], names: tuple[str, ...]) -> Slot:
        assert self._redis is not None
        # One round trip, and each TTL is set with its count (a crash cannot leave it forever).
        async with self._redis.pipeline(transaction=True) as pipe:
            for name in names:
                pipe.incr(name)
                pipe.expire(name, REDIS_SLOT_TTL_SECONDS)
            results = await pipe.execute()
        counts = results[::2]
        over = [
            (name, limit)
            for (name, limit), count in zip(limits, counts, strict=True)
            if int(count) > limit
        ]
        if over:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    for name in names:
                        pipe.decr(name)
                    await pipe.execute()
            except REDIS_ERRORS as exc:  # over the cap all the same; the TTL cleans up
                self.storage_errors += 1
                self.health.failed("stream slots", exc)
            name, limit = over[0]
            raise self._refused(limit, per_key=self._is_key(name))
        return Slot(names, counted_in_redis=True)

    async def release(self, slot: Slot | None) -> None:
        if slot is None:
            return
        if slot.counted_in_redis:
            assert self._redis is not None
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    for name in slot.names:
                        pipe.decr(name)
                    await pipe.execute()
            except REDIS_ERRORS as exc:
                # Left counted until the key's TTL, or gone with a Redis that lost its data.
                self.storage_errors += 1
                self.health.failed("stream slots", exc)
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

    def _is_key(self, name: str) -> bool:
        return name.startswith(f"{self.prefix}:key:")

    def _storage_down(self, exc: BaseException) -> None:
        """Count the failure; raise when the cap must fail closed."""
        self.storage_errors += 1
        self.health.failed("stream slots", exc)
        if not self.fail_open:
            raise self._unavailable()

    @staticmethod
    def _unavailable() -> RateLimited:
        return RateLimited(
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
