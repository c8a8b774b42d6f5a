"""Quota counters per (subject, metric, period): in process, or in Redis for every replica.

Each counter expires at its period's end, so nothing has to reset them. `add` is Redis's
INCRBYFLOAT (atomic across replicas) followed by EXPIREAT, in one round trip; `once`
is SET NX, for events that must happen once per period (a webhook at 80 %).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis

Increment = tuple[str, float, datetime]  # counter, amount, when it expires


class Counters(Protocol):
    async def get(self, names: Sequence[str]) -> list[float]: ...

    async def add(self, increments: Sequence[Increment]) -> list[float]:
        """Add each amount; returns the new values, in order."""
        ...

    async def once(self, name: str, expires: datetime) -> bool:
        """True the first time `name` is claimed before it expires."""
        ...


class MemoryCounters:
    """One process's counters (no Redis): every operation runs without an await, so atomic."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, float]] = {}  # name → (value, expires epoch)

    def _live(self, name: str, now: float) -> float | None:
        found = self._values.get(name)
        if found is None:
            return None
        if found[1] <= now:
            del self._values[name]
            return None
        return found[0]

    def _sweep(self, now: float) -> None:
        if len(self._values) > 100_000:
            self._values = {k: v for k, v in self._values.items() if v[1] > now}

    async def get(self, names: Sequence[str]) -> list[float]:
        now = time.time()
        return [self._live(name, now) or 0.0 for name in names]

    async def add(self, increments: Sequence[Increment]) -> list[float]:
        now = time.time()
        self._sweep(now)
        values = []
        for name, amount, expires in increments:
            value = (self._live(name, now) or 0.0) + amount
            self._values[name] = (value, expires.timestamp())
            values.append(value)
        return values

    async def once(self, name: str, expires: datetime) -> bool:
        now = time.time()
        if self._live(name, now) is not None:
            return False
        self._values[name] = (1.0, expires.timestamp())
        return True


class RedisCounters:
    """Counters in Redis under `prefix`, shared by every replica."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    async def get(self, names: Sequence[str]) -> list[float]:
        if not names:
            return []
        values = await self._redis.mget([self._key(n) for n in names])
        return [float(v) if v is not None else 0.0 for v in values]

    async def add(self, increments: Sequence[Increment]) -> list[float]:
        if not increments:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for name, amount, expires in increments:
            key = self._key(name)
            pipe.incrbyfloat(key, amount)  # whole amounts stay whole ("3", not "3.0")
            pipe.expireat(key, int(expires.timestamp()) + 1)
        results = await pipe.execute()
        return [float(results[i]) for i in range(0, len(results), 2)]

    async def once(self, name: str, expires: datetime) -> bool:
        claimed = await self._redis.set(
            self._key(name), b"1", nx=True, exat=int(expires.timestamp()) + 1
        )
        return bool(claimed)
