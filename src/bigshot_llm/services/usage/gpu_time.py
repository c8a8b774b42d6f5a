"""GPU-seconds: each request's share of the time an instance spent on it.

An instance that runs n requests at once gives each of them 1/n of every second, so a
request's GPU-seconds are the integral of 1/n(t) over the time it held an upstream slot (from
the upstream call until it ended). A alone for 1 s, then A and B for 1 s, then B alone for 1 s
gives A = B = 1.5 s: together they used the instance for 3 s, and each is charged what it
shared. Queue wait is not slot time and is never counted here.

Per lane (one instance: `server|instance`, or `base_url|model` when GPU admission is off) the
meter keeps one running integral S(t) = ∫ 1/n(t) dt; a request remembers S at its start and is
charged S(end) − S(start). Each start and stop is O(1) and the sum over requests is exactly the
time the lane was busy. The counts are what this process sees: with several gateway replicas
sharing one instance, each replica splits only among its own requests (per replica).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["GpuMeter", "GpuTimer"]


@dataclass(slots=True)
class _Lane:
    running: int = 0
    shares: float = 0.0  # ∫ 1/n dt since the lane last became busy
    at: float = 0.0  # when `shares` was last brought up to date

    def advance(self, now: float) -> None:
        if self.running:
            self.shares += (now - self.at) / self.running
        self.at = now


class GpuMeter:
    """The running integral of 1/n(t) for each busy lane; idle lanes are forgotten."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lanes: dict[str, _Lane] = {}

    def start(self, lane: str) -> GpuTimer:
        """A request starts holding a slot on `lane`; stop the timer when it ends."""
        state = self._lanes.get(lane)
        if state is None:
            state = self._lanes[lane] = _Lane(at=self._clock())
        state.advance(self._clock())
        state.running += 1
        return GpuTimer(self, lane, state, state.shares)

    def running(self, lane: str) -> int:
        """Requests metered on `lane` right now."""
        state = self._lanes.get(lane)
        return 0 if state is None else state.running

    def _stop(self, lane: str, state: _Lane, since: float) -> float:
        state.advance(self._clock())
        state.running -= 1
        used = state.shares - since
        if state.running <= 0 and self._lanes.get(lane) is state:
            del self._lanes[lane]
        return max(used, 0.0)


class GpuTimer:
    """One request's slot time on one lane; `stop()` (idempotent) returns its GPU-seconds."""

    __slots__ = ("_lane", "_meter", "_seconds", "_since", "_state")

    def __init__(self, meter: GpuMeter, lane: str, state: _Lane, since: float) -> None:
        self._meter = meter
        self._lane = lane
        self._state = state
        self._since = since
        self._seconds: float | None = None

    def stop(self) -> float:
        if self._seconds is None:
            self._seconds = self._meter._stop(self._lane, self._state, self._since)
        return self._seconds
