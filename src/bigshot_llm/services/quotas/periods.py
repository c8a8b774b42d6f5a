"""Quota periods: the UTC day and the calendar month, their start, end and counter label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bigshot_llm.services.quotas.rules import Period


@dataclass(frozen=True, slots=True)
class Window:
    """One period instance: counters of it are named by `label` and expire at `end`."""

    period: Period
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return self.start.strftime("%Y%m%d" if self.period == "day" else "%Y%m")

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until the reset (at least 1: what `Retry-After` says)."""
        return max(1, int((self.end - now).total_seconds() + 0.999))


def window(period: Period, now: datetime) -> Window:
    """The period `now` falls in (UTC: a naive `now` is taken as UTC)."""
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    if period == "day":
        start = datetime(now.year, now.month, now.day, tzinfo=UTC)
        return Window(period, start, start + timedelta(days=1))
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return Window(period, start, datetime(year, month, 1, tzinfo=UTC))
