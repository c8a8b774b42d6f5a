"""Counting the generations running on each lane: in process, or in Redis for every replica.

With Redis, a lane's count is one key (`<prefix>:<lane key>`), taken by a script that
increments only below the lane's slots, so three replicas together never start more than
the instance has. Counters carry a TTL, refreshed while generations run, so a crashed replica
cannot hold slots forever. When Redis fails the counts fall back to this process (each
replica by itself, as the stream slots do) until `RedisHealth` says to try Redis again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from redis.asyncio import Redis

from bigshot_llm.services.generation.capacity import Lane
from bigshot_llm.services.redis_health import REDIS_ERRORS, RedisHealth

log = logging.getLogger(__name__)

LANE_TTL_SECONDS = 900

# KEYS[1] the lane's counter; ARGV[1] its slots, ARGV[2] the TTL. 1 when a slot was taken.
TAKE_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# Never below zero: a counter that expired while a generation ran must not go negative.
GIVE_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used <= 1 then redis.call('DEL', KEYS[1]) return 0 end
return redis.call('DECR', KEYS[1])
"""


@dataclass(frozen=True, slots=True)
class Held:
    """A slot taken on a lane; give it back with `LaneSlots.give`."""

    lane: Lane
    in_redis: bool


class LaneSlots:
    def __init__(
        self, redis: Redis | None = None, *, prefix: str, health: RedisHealth | None = None
    ) -> None:
        self._redis = redis
        self.prefix = prefix
        self.health = health or RedisHealth()
        self._local: dict[str, int] = defaultdict(int)
        self.storage_errors = 0

    @property
    def shared(self) -> bool:
        """Whether counts are shared with other replicas right now (waiters then poll)."""
        return self._redis is not None and self.health.available

    def used(self, lane: Lane) -> int:
        """Slots this process holds on `lane`."""
        return self._local.get(lane.key, 0)

    async def take(self, lane: Lane) -> Held | None:
        """A slot on `lane`, or None when it is full."""
        if self._redis is not None and self.health.available:
            try:
                taken = await self._redis.eval(  # type: ignore[misc]
                    TAKE_SCRIPT, 1, self._name(lane), lane.slots, LANE_TTL_SECONDS
                )
            except REDIS_ERRORS as exc:
                self.storage_errors += 1
                self.health.failed("GPU slots", exc)
            else:
                if not int(taken):
                    return None
                self._local[lane.key] += 1
                return Held(lane, in_redis=True)
        if self._local[lane.key] >= lane.slots:
            return None
        self._local[lane.key] += 1
        return Held(lane, in_redis=False)

    async def give(self, held: Held) -> None:
        key = held.lane.key
        self._local[key] = max(0, self._local[key] - 1)
        if not self._local[key]:
            del self._local[key]
        if not held.in_redis or self._redis is None:
            return
        try:
            await self._redis.eval(GIVE_SCRIPT, 1, self._name(held.lane))  # type: ignore[misc]
        except REDIS_ERRORS as exc:
            self.storage_errors += 1
            self.health.failed("GPU slots", exc)
            log.warning("GPU slots: Redis unavailable; a slot of %s waits for its TTL", key)

    def _name(self, lane: Lane) -> str:
        return f"{self.prefix}:{lane.key}"
