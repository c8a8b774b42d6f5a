"""Parallel-prediction slots of the simulated instances, with LM Studio-style queueing.

A loaded instance runs `SimState.slots_of(instance)` generations at once; more wait inside the
server, first come first served (as LM Studio queues them, without telling anyone). The
simulator counts what a gateway must keep below: generations running at once, overall and per
instance, and the order in which they got their slot (by the request's ``X-Sim-Tag`` header),
so tests can check admission and fairness from the upstream's side.
"""

from __future__ import annotations

from collections import deque

from bigshot_llm.sim.state import SimState
from bigshot_llm.sim.streaming import DisconnectWatcher

POLL_SECONDS = 0.005


def _try_take(state: SimState, instance: str, tag: str, ticket: object | None = None) -> bool:
    """Take a slot if one is free and nobody waits ahead (`ticket`: this one's place)."""
    with state._lock:
        waiting = state.slot_queue.get(instance)
        if waiting and waiting[0] is not ticket:
            return False  # first come, first served, as LM Studio's queue
        busy = state.busy.get(instance, 0)
        if busy >= state.slots_of(instance):
            return False
        if waiting:
            waiting.popleft()
        state.busy = {**state.busy, instance: busy + 1}
        state.peak_busy = {
            **state.peak_busy,
            instance: max(state.peak_busy.get(instance, 0), busy + 1),
        }
        state.generating += 1
        state.peak_generating = max(state.peak_generating, state.generating)
        state.served = [*state.served, tag]
        state.served_instances = [*state.served_instances, instance]
        return True


def release(state: SimState, instance: str) -> None:
    """Give an instance's slot back (the generation ended, however)."""
    with state._lock:
        busy = state.busy.get(instance, 0) - 1
        state.busy = {**state.busy, instance: max(busy, 0)}
        state.generating = max(state.generating - 1, 0)


async def take(state: SimState, instance: str, tag: str, watcher: DisconnectWatcher) -> bool:
    """Wait for a slot of `instance` (queueing inside, as LM Studio does), then while the
    simulator is paused. False when the client left first (no slot is held then)."""
    with state._lock:
        state.arrived = [*state.arrived, tag]
    if not _try_take(state, instance, tag):
        ticket = object()
        with state._lock:
            state.slot_queue.setdefault(instance, deque()).append(ticket)
            state.queued_internally += 1
            state.peak_queued_internally = max(
                state.peak_queued_internally, state.queued_internally
            )
        try:
            while not _try_take(state, instance, tag, ticket):
                if await watcher.sleep(POLL_SECONDS):
                    return False
        finally:
            with state._lock:
                waiting = state.slot_queue.get(instance)
                if waiting is not None and ticket in waiting:
                    waiting.remove(ticket)  # left the queue before its turn
            state.incr("queued_internally", -1)
    while state.paused:
        if await watcher.sleep(POLL_SECONDS):
            release(state, instance)
            return False
    return True
