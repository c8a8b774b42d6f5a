"""The order in which waiting generations of one model get a slot: fair across users.

Pure bookkeeping, no I/O. The next request to start is the one whose user has the fewest
generations running on the model, then the fewest started since the queue was last empty
(round-robin: every user's first request before anyone's second, then every second before
anyone's third), then the higher priority class (interactive before normal before batch),
then the earlier arrival. A user who floods the queue waits behind everyone else's turns
instead of in front of them.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["PRIORITIES", "FairQueue", "Priority", "Waiter"]

Priority = Literal["interactive", "normal", "batch"]
PRIORITIES: dict[str, int] = {"interactive": 0, "normal": 1, "batch": 2}


@dataclass(eq=False)
class Waiter:
    """One request waiting for a slot."""

    user: str
    priority: int
    seq: int
    prefer: str | None = None  # the lane key a conversation sticks to
    enqueued_at: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    position: int = 0  # 1-based place in the queue, updated on every change
    grant: Any = None  # the slot it was given (admission's `Held`)


class FairQueue:
    def __init__(self) -> None:
        self.waiters: list[Waiter] = []
        self.running: Counter[str] = Counter()  # generations running, by user
        self.started: Counter[str] = Counter()  # started since the queue was last empty
        self._seq = 0

    def __len__(self) -> int:
        return len(self.waiters)

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def push(self, waiter: Waiter) -> None:
        self.waiters.append(waiter)

    def remove(self, waiter: Waiter) -> None:
        if waiter in self.waiters:
            self.waiters.remove(waiter)

    def started_one(self, user: str) -> None:
        self.running[user] += 1
        self.started[user] += 1

    def finished_one(self, user: str) -> None:
        self.running[user] -= 1
        if self.running[user] <= 0:
            del self.running[user]
        if not self.waiters and not self.running:
            self.started.clear()

    def order(self) -> list[Waiter]:
        """Every waiter in the order it would start if slots freed one by one now.

        Equivalent to picking, again and again, the waiter with the smallest (running,
        started, priority, seq) and counting it as started for its user; done with one heap of
        users (each user's waiters sorted by priority and arrival) in O(n log n) instead of
        O(n²): under load the queue is renumbered on every finished generation.
        """
        by_user: dict[str, list[Waiter]] = {}
        for waiter in self.waiters:
            by_user.setdefault(waiter.user, []).append(waiter)
        heap: list[tuple[int, int, int, int, str]] = []
        for user, waiting in by_user.items():
            waiting.sort(key=lambda w: (w.priority, w.seq), reverse=True)  # next one last
            head = waiting[-1]
            heap.append((self.running[user], self.started[user], head.priority, head.seq, user))
        heapq.heapify(heap)
        ordered: list[Waiter] = []
        while heap:
            running, started, _, _, user = heapq.heappop(heap)
            waiting = by_user[user]
            ordered.append(waiting.pop())
            if waiting:
                head = waiting[-1]
                heapq.heappush(heap, (running + 1, started + 1, head.priority, head.seq, user))
        return ordered

    def renumber(self) -> list[Waiter]:
        """`order()`, with each waiter told its new position when it moved."""
        ordered = self.order()
        for place, waiter in enumerate(ordered, start=1):
            if waiter.position != place:
                waiter.position = place
                waiter.changed.set()
        return ordered
