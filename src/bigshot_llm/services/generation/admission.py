"""Admission to the GPUs: a generation starts only when one of its model's lanes has a slot.

Every generation (native, `/v1`, chat streams, compare; streamed or not) asks for a `Pass`
before its upstream call. The pass waits in the model's `FairQueue` until a lane has a free
slot (counted by `LaneSlots`, in Redis across replicas), then names the lane: the pool member
and the instance the request goes to. A conversation sticks to the lane that served it last
(`StickyRoutes`) unless that lane is gone (its member down, the instance unloaded) or the
queue is longer than `sticky_max_queue`. The queue is bounded (`QueueFull`, 429), and a wait
past the request's deadline ends with `QueueTimeout` (503); both carry Retry-After. While it
waits, the pass reports its position, which the surfaces turn into `queued` events or
comments.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from bigshot_llm.errors import RateLimited, ServiceUnavailable
from bigshot_llm.services.generation.capacity import Capacity, Lane
from bigshot_llm.services.generation.fair_queue import PRIORITIES, FairQueue, Waiter
from bigshot_llm.services.generation.lane_slots import Held, LaneSlots
from bigshot_llm.services.generation.routing import Target

__all__ = ["Admission", "Pass", "QueueFull", "QueueTimeout", "StickyRoutes"]

# How often a waiter looks again when slots are shared with other replicas (a slot freed
# there wakes nobody here), and how often it re-reports its place while nothing changes.
SHARED_POLL_SECONDS = 0.25
REPORT_SECONDS = 5.0
DEFAULT_RUN_SECONDS = 10.0  # the estimate's run time before any generation finished


class QueueFull(RateLimited, code="queue_full"): ...


class QueueTimeout(ServiceUnavailable, code="queue_timeout"): ...


class StickyRoutes:
    """Conversation key → the lane key that served it last (the most recent `size`)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._lanes: OrderedDict[str, str] = OrderedDict()

    def get(self, session: str | None) -> str | None:
        if session is None:
            return None
        lane = self._lanes.get(session)
        if lane is not None:
            self._lanes.move_to_end(session)
        return lane

    def put(self, session: str | None, lane: str) -> None:
        if session is None:
            return
        self._lanes[session] = lane
        self._lanes.move_to_end(session)
        while len(self._lanes) > self.size:
            self._lanes.popitem(last=False)


# Groups kept before idle ones for models no provider listed are forgotten.
MAX_GROUPS = 256


@dataclass(eq=False)
class Group:
    """One model on one provider: its lanes and its queue."""

    provider: str
    model: str
    lanes: list[Lane]
    order: str = "balanced"  # the provider's `pool_order`
    queue: FairQueue = field(default_factory=FairQueue)
    run_seconds: float = DEFAULT_RUN_SECONDS  # moving average of a generation's slot time
    waited_total: int = 0
    last_used: float = field(default_factory=time.monotonic)
    used_on: dict[str, float] = field(default_factory=dict)  # server URL → its last use
    # The /metrics labels: a global provider's name (else "user") and a model the provider
    # listed (else "other"), so made-up names never become series.
    labels: tuple[str, str] = ("other", "other")

    @property
    def idle(self) -> bool:
        return not self.queue.waiters and self.running == 0

    @property
    def slots(self) -> int:
        return sum(lane.slots for lane in self.lanes) or 1

    @property
    def running(self) -> int:
        return sum(self.queue.running.values())

    def estimate(self, position: int) -> float:
        """Seconds until the waiter at `position` starts, if generations keep their pace."""
        return round(math.ceil(position / self.slots) * self.run_seconds, 1)


class Admission:
    def __init__(
        self,
        capacity: Capacity,
        slots: LaneSlots,
        *,
        max_queue: int,
        timeout: float,
        sticky_max_queue: int,
        sticky: StickyRoutes | None = None,
        observe: Callable[[Group, float | None], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self.slots = slots
        self.max_queue = max_queue
        self.timeout = timeout
        self.sticky_max_queue = sticky_max_queue
        self.sticky = sticky or StickyRoutes()
        self.groups: dict[tuple[str, str], Group] = {}
        self._lock = asyncio.Lock()
        self._turn = itertools.count()
        self._observe = observe  # metrics: called with the group (and a wait, when one ended)

    async def pass_for(
        self,
        target: Target,
        model: str,
        *,
        user: str,
        priority: str = "normal",
        sessions: tuple[str, ...] = (),
        timeout: float | None = None,
        labels: tuple[str, str] = ("other", "other"),
    ) -> Pass | None:
        """A pass to wait with (None: this provider is not admission-controlled). Raises
        `QueueFull` at once when the model's queue is at its bound.

        `labels` are the metric labels (provider, model); a model labelled "other" (one the
        provider never listed) keeps no group once idle, so made-up names cannot grow memory."""
        if not self.capacity.controlled(target, model):
            return None
        lanes = self.capacity.lanes(target, model)
        key = (target.record.id, model)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= MAX_GROUPS:
                self._forget_idle_unlisted()
            group = self.groups[key] = Group(target.record.name, model, lanes)
        group.lanes, group.order, group.labels = lanes, target.record.pool_order, labels
        if len(group.queue) >= self.max_queue:
            retry = max(1, int(group.estimate(1)))
            raise QueueFull(
                f"the queue for model '{model}' is full ({self.max_queue} requests wait for "
                f"its {group.slots} slot(s)); try again in about {retry} s",
                details={"model": model, "queued": len(group.queue), "slots": group.slots},
                headers={"Retry-After": str(retry)},
            )
        wait = self.timeout if timeout is None else min(max(timeout, 0.0), self.timeout)
        waiter = Waiter(
            user,
            PRIORITIES.get(priority, PRIORITIES["normal"]),
            group.queue.next_seq(),
            prefer=next(filter(None, (self.sticky.get(key) for key in sessions)), None),
        )
        return Pass(self, group, waiter, sessions, time.monotonic() + wait)

    def _forget_idle_unlisted(self) -> None:
        for key, group in list(self.groups.items()):
            if group.idle and group.labels[1] == "other":
                del self.groups[key]

    # ---- granting slots -------------------------------------------------------------------

    def _choices(self, group: Group, waiter: Waiter) -> list[Lane]:
        lanes = group.lanes
        if waiter.prefer is not None and len(group.queue) <= self.sticky_max_queue:
            stuck = [lane for lane in lanes if lane.key == waiter.prefer]
            if stuck:
                return stuck
        if group.order == "preference":  # the first member in order that has a free slot
            return sorted(lanes, key=lambda lane: (lane.rank, self.slots.used(lane) / lane.slots))
        # The least used lane for its weight; ties rotate, so new conversations spread.
        turn, size = next(self._turn), len(lanes)
        order = {lane.key: (i - turn) % size for i, lane in enumerate(lanes)}
        return sorted(
            lanes,
            key=lambda lane: (self.slots.used(lane) / (lane.slots * lane.weight), order[lane.key]),
        )

    async def dispatch(self, group: Group) -> None:
        """Give free slots to waiters in fair order, until no waiter can start."""
        async with self._lock:
            progress = True
            while progress and group.queue.waiters:
                progress = False
                for waiter in group.queue.order():
                    held = await self._take_for(group, waiter)
                    if held is not None:
                        group.queue.remove(waiter)
                        group.queue.started_one(waiter.user)
                        waiter.grant = held
                        waiter.changed.set()
                        progress = True
                        break
            group.queue.renumber()
        if self._observe is not None:
            self._observe(group, None)

    async def _take_for(self, group: Group, waiter: Waiter) -> Held | None:
        for lane in self._choices(group, waiter):
            held = await self.slots.take(lane)
            if held is not None:
                return held
        return None

    # ---- reporting ------------------------------------------------------------------------

    def snapshot(self, provider_ids: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Per provider and model: slots, in use and queued, with each lane's share; only the
        providers in `provider_ids` when given (what one caller may use: names are not unique
        across users)."""
        out = []
        for (provider_id, _), group in self.groups.items():
            if provider_ids is not None and provider_id not in provider_ids:
                continue
            out.append(
                {
                    "provider": group.provider,
                    "model": group.model,
                    "slots": group.slots,
                    "in_use": group.running,
                    "queued": len(group.queue),
                    "estimate_seconds": group.estimate(len(group.queue)) if group.queue else 0.0,
                    "instances": [
                        {
                            "id": lane.instance,
                            "server": lane.server,
                            "slots": lane.slots,
                            "in_use": self.slots.used(lane),
                            "reported": lane.reported,
                        }
                        for lane in group.lanes
                    ],
                }
            )
        return out

    def busy_models(self, provider_id: str) -> dict[str, int]:
        """Generations this process runs on each model of a provider."""
        return {
            model: group.running
            for (pid, model), group in self.groups.items()
            if pid == provider_id and group.running
        }

    def last_used(self, provider_id: str, model: str, server: str | None = None) -> float | None:
        """When this process last ran `model` on the provider (on `server`, one pool member,
        when given)."""
        group = self.groups.get((provider_id, model))
        if group is None:
            return None
        return group.last_used if server is None else group.used_on.get(server)

    def busy_on(self, provider_id: str, model: str, server: str) -> bool:
        """Whether `model` runs on `server`, or waits for a slot of the provider (a waiter may
        still go to any member)."""
        group = self.groups.get((provider_id, model))
        if group is None:
            return False
        if group.queue.waiters:
            return True
        return any(self.slots.used(lane) for lane in group.lanes if lane.server == server)


@dataclass(eq=False)
class Pass:
    """A generation's admission: `wait()` until it has a lane, `release()` when it ends."""

    admission: Admission
    group: Group
    waiter: Waiter
    sessions: tuple[str, ...]  # the conversation's keys: each remembers the lane
    deadline: float
    held: Held | None = None
    waited: float | None = None
    _released: bool = False
    _started_at: float | None = None
    _entered: float | None = None  # when it joined the queue
    _left: float | None = None  # when it gave up waiting (timed out, the client left)
    _answered: str | None = None  # the pool member that answered, when not the lane's

    def queued_seconds(self) -> float | None:
        """The wait for a slot: all of it once granted, so far (or until it gave up) before;
        None if it never queued."""
        if self.waited is not None:
            return self.waited
        if self._entered is None:
            return None
        return (self._left or time.monotonic()) - self._entered

    @property
    def lane(self) -> Lane | None:
        return None if self.held is None else self.held.lane

    def estimate(self, position: int) -> float:
        return self.group.estimate(position)

    async def wait(self) -> AsyncGenerator[int, None]:
        """Queue and wait for a slot, yielding the position whenever it changes (and now and
        then while it does not); raises `QueueTimeout` past the deadline."""
        admission, group, waiter = self.admission, self.group, self.waiter
        group.queue.push(waiter)
        entered = self._entered = time.monotonic()
        try:
            await admission.dispatch(group)
            reported, reported_at = 0, 0.0
            while waiter.grant is None:
                now = time.monotonic()
                remaining = self.deadline - now
                if remaining <= 0:
                    raise self._timed_out(now - entered)
                if waiter.position != reported or now - reported_at >= REPORT_SECONDS:
                    reported, reported_at = waiter.position, now
                    yield waiter.position
                waiter.changed.clear()
                poll = SHARED_POLL_SECONDS if admission.slots.shared else REPORT_SECONDS
                try:
                    await asyncio.wait_for(waiter.changed.wait(), timeout=min(remaining, poll))
                except TimeoutError:
                    if admission.slots.shared:
                        await admission.dispatch(group)
        except BaseException:
            self._left = time.monotonic()
            await self.release()  # out of the queue, or the slot it was just given handed on
            raise
        self.held = waiter.grant
        self.waited = time.monotonic() - entered
        self._started_at = time.monotonic()
        group.waited_total += 1
        group.last_used = group.used_on[self.held.lane.server] = time.monotonic()
        assert self.held is not None
        for key in self.sessions:
            admission.sticky.put(key, self.held.lane.key)
        if admission._observe is not None:
            admission._observe(group, self.waited)

    def answered_on(self, server: str) -> None:
        """The pool answered from `server`, not the lane's member (it failed over before the
        first byte): the conversation follows to where its prompt is cached now."""
        lane = self.lane
        if lane is None or lane.server == server:
            return
        there = [other for other in self.group.lanes if other.server == server]
        moved = next((o for o in there if o.instance == lane.instance), None) or next(
            iter(there), None
        )
        if moved is None:
            return
        for key in self.sessions:
            self.admission.sticky.put(key, moved.key)
        self.group.used_on[server] = time.monotonic()
        self._answered = server

    def _timed_out(self, waited: float) -> QueueTimeout:
        group = self.group
        retry = max(1, int(group.estimate(max(len(group.queue), 1))))
        return QueueTimeout(
            f"waited {waited:.0f} s for a free slot of model '{group.model}' "
            f"({group.slots} slot(s), {len(group.queue)} request(s) queued); try again in "
            f"about {retry} s, or send X-Bigshot-Queue-Timeout with a longer wait",
            details={"model": group.model, "queued": len(group.queue), "slots": group.slots},
            headers={"Retry-After": str(retry)},
        )

    async def release(self) -> None:
        """Leave the queue, or give the slot back (once), and let the next waiter start.

        Safe whatever state the pass is in: never waited, waiting (the client left), given a
        slot it never used, or running."""
        if self._released:
            return
        self._released = True
        group, waiter = self.group, self.waiter
        if waiter in group.queue.waiters:
            group.queue.remove(waiter)
            group.queue.renumber()
            if self.admission._observe is not None:
                self.admission._observe(group, None)
            return
        held = self.held or waiter.grant
        self.held = waiter.grant = None
        if held is None:
            return
        if self._started_at is not None:
            ran = time.monotonic() - self._started_at
            group.run_seconds = 0.8 * group.run_seconds + 0.2 * ran
        group.last_used = group.used_on[self._answered or held.lane.server] = time.monotonic()
        group.queue.finished_one(waiter.user)
        await self.admission.slots.give(held)
        await self.admission.dispatch(group)
