"""Quota admission: refuse a request once a quota is used up, and count what it used.

`QuotaGate.admit` runs before the upstream is called. It refuses when a consumed quota
(tokens, GPU-seconds) has reached its limit, then counts the request on every requests quota
at once (INCR, compare, and DECR again if that passed the limit), so two replicas sharing
Redis cannot both admit the last request. The `QuotaPass` it returns adds the tokens and
GPU-seconds when the request finishes; nothing ever stops a request that was admitted (a
running stream passes its quota and is refused only next time).

Counters live in Redis when the gateway has one (else in process). When Redis fails the gate
fails open: the request is admitted uncounted, with the warning `RedisHealth` logs once per
period; a quota is never a reason for a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bigshot_llm.db.models import utcnow
from bigshot_llm.errors import QuotaExceeded
from bigshot_llm.services.quotas.counters import Counters, Increment
from bigshot_llm.services.quotas.periods import Window, window
from bigshot_llm.services.quotas.rules import ALERT_LEVELS, QuotaRule
from bigshot_llm.services.redis_health import REDIS_ERRORS, RedisHealth
from bigshot_llm.services.usage.recorder import UsageEvent

log = logging.getLogger(__name__)

AlertSink = Callable[[QuotaRule, Window, int, float], Awaitable[None]]
"""Told (rule, window, level in percent, used) when usage first reaches 80 % / 100 %."""


def counter_name(rule: QuotaRule, win: Window) -> str:
    return f"{rule.subject}:{rule.subject_id}:{rule.metric}:{win.label}"


def amount_of(rule: QuotaRule, event: UsageEvent) -> float:
    """What a finished request adds to a consumed quota."""
    if rule.metric == "tokens":
        return float(event.total_tokens)
    return float(event.gpu_seconds or 0.0)


def shown(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 3)


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    """A quota with what is used of it in the current period."""

    rule: QuotaRule
    used: float
    resets_at: datetime


def exceeded(rule: QuotaRule, used: float, win: Window, now: datetime) -> QuotaExceeded:
    resets = win.end.isoformat().replace("+00:00", "Z")
    retry = win.seconds_left(now)
    unit = "GPU-seconds" if rule.metric == "gpu_seconds" else rule.metric
    return QuotaExceeded(
        f"quota exceeded: {shown(rule.limit)} {unit} per {rule.period} for this {rule.subject} "
        f"({shown(used)} used); it resets at {resets}",
        details={"quota": rule.describe(), "usage": shown(used), "resets_at": resets},
        headers={"Retry-After": str(retry)},
    )


class QuotaGate:
    def __init__(
        self,
        counters: Counters,
        *,
        shared: bool = False,
        health: RedisHealth | None = None,
        alerts: AlertSink | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.counters = counters
        self.shared = shared  # counters in Redis: may fail, then the gate fails open
        self.health = health or RedisHealth()
        self.alerts = alerts
        self.clock = clock
        self.failures = 0

    def _usable(self) -> bool:
        return not self.shared or self.health.available

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.health.failed("quotas (failing open)", exc)

    async def admit(self, rules: Sequence[QuotaRule]) -> QuotaPass | None:
        """Refuse with `QuotaExceeded` when a quota is used up; else the request's pass
        (None: no quota applies, or the counters are unavailable and the gate fails open)."""
        if not rules or not self._usable():
            return None
        now = self.clock()
        try:
            consumed = [(r, window(r.period, now)) for r in rules if r.consumed]
            used = await self.counters.get([counter_name(r, w) for r, w in consumed])
            for (rule, win), value in zip(consumed, used, strict=True):
                if value >= rule.limit:
                    raise exceeded(rule, value, win, now)
            counted = [(r, window(r.period, now)) for r in rules if not r.consumed]
            increments = [(counter_name(r, w), 1.0, w.end) for r, w in counted]
            values = await self.counters.add(increments)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return None
        for (rule, win), value in zip(counted, values, strict=True):
            if value > rule.limit:
                await self._undo([(name, -amount, end) for name, amount, end in increments])
                # Racing requests may stand above the limit for a moment: they are undone too.
                raise exceeded(rule, min(value - 1, rule.limit), win, now)
        admitted = QuotaPass(self, [r for r, _ in consumed], increments)
        await self._crossed([(r, w, v - 1, v) for (r, w), v in zip(counted, values, strict=True)])
        return admitted

    async def usage(self, rules: Sequence[QuotaRule]) -> list[QuotaUsage] | None:
        """Each quota with its use this period (None: the counters cannot be read now)."""
        if not self._usable():
            return None
        now = self.clock()
        windows = [window(r.period, now) for r in rules]
        try:
            used = await self.counters.get(
                [counter_name(r, w) for r, w in zip(rules, windows, strict=True)]
            )
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return None
        return [QuotaUsage(r, v, w.end) for r, w, v in zip(rules, windows, used, strict=True)]

    async def _charge(self, rules: Sequence[QuotaRule], event: UsageEvent) -> None:
        now = self.clock()
        due = [(r, window(r.period, now), amount_of(r, event)) for r in rules]
        due = [(r, w, a) for r, w, a in due if a > 0]
        if not due or not self._usable():
            return
        try:
            values = await self.counters.add([(counter_name(r, w), a, w.end) for r, w, a in due])
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return
        await self._crossed([(r, w, v - a, v) for (r, w, a), v in zip(due, values, strict=True)])

    async def _undo(self, increments: Sequence[Increment]) -> None:
        try:
            await self.counters.add(increments)
        except REDIS_ERRORS as exc:
            self._failed(exc)

    async def _crossed(self, changes: Sequence[tuple[QuotaRule, Window, float, float]]) -> None:
        """Tell the alert sink about each level first reached (once per quota, period, level)."""
        if self.alerts is None:
            return
        for rule, win, before, after in changes:
            for level in ALERT_LEVELS:
                threshold = rule.limit * level / 100
                if not before < threshold <= after:
                    continue
                try:
                    first = await self.counters.once(
                        f"alert:{counter_name(rule, win)}:{level}", win.end
                    )
                except REDIS_ERRORS as exc:
                    self._failed(exc)
                    return
                if first:
                    await self.alerts(rule, win, level, after)


@dataclass(eq=False)
class QuotaPass:
    """An admitted request's quotas: `charge` its usage when it ends, or `refund` the request
    when the gateway refused it after all (before the upstream was called)."""

    gate: QuotaGate
    consumed: list[QuotaRule]
    counted: list[Increment]
    _done: bool = field(default=False, init=False)

    async def charge(self, event: UsageEvent | None) -> None:
        if self._done:
            return
        self._done = True
        if event is not None and self.consumed:
            await self.gate._charge(self.consumed, event)

    async def refund(self) -> None:
        if self._done:
            return
        self._done = True
        if self.counted:
            await self.gate._undo([(name, -amount, end) for name, amount, end in self.counted])
