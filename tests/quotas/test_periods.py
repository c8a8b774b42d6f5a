"""Quota periods on a fake clock: the UTC day and the calendar month, their resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bigshot_llm.services.quotas.periods import window


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (datetime(2026, 12, 2, 0, 0, tzinfo=UTC), datetime(2026, 12, 2), datetime(2026, 12, 3)),
        (
            datetime(2026, 12, 2, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2026, 12, 2),
            datetime(2026, 12, 3),
        ),
        (datetime(2026, 12, 31, 12, tzinfo=UTC), datetime(2026, 12, 31), datetime(2027, 1, 1)),
        (datetime(2028, 2, 28, 23, tzinfo=UTC), datetime(2028, 2, 28), datetime(2028, 2, 29)),
    ],
)
def test_a_day_is_the_utc_day(now: datetime, start: datetime, end: datetime) -> None:
    win = window("day", now)
    assert (win.start, win.end) == (start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    assert win.label == start.strftime("%Y%m%d")


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 1), datetime(2027, 1, 1)),
        (datetime(2026, 1, 31, 23, 59, tzinfo=UTC), datetime(2026, 1, 1), datetime(2026, 2, 1)),
        (datetime(2028, 2, 29, 5, tzinfo=UTC), datetime(2028, 2, 1), datetime(2028, 3, 1)),
        (datetime(2027, 2, 1, 0, 0, tzinfo=UTC), datetime(2027, 2, 1), datetime(2027, 3, 1)),
    ],
)
def test_a_month_is_the_calendar_month(now: datetime, start: datetime, end: datetime) -> None:
    win = window("month", now)
    assert (win.start, win.end) == (start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    assert win.label == start.strftime("%Y%m")


def test_another_time_zone_is_judged_in_utc() -> None:
    # 01:30 on the 3rd in UTC+2 is still the 2nd, 23:30, in UTC.
    local = datetime(2026, 12, 3, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert window("day", local).start == datetime(2026, 12, 2, tzinfo=UTC)
    assert window("day", datetime(2026, 12, 2, 23, 30)).end == datetime(2026, 12, 3, tzinfo=UTC)


def test_retry_after_counts_whole_seconds_to_the_reset() -> None:
    now = datetime(2026, 12, 2, 23, 59, 58, 500000, tzinfo=UTC)
    win = window("day", now)
    assert win.seconds_left(now) == 2  # 1.5 s, rounded up
    assert win.seconds_left(win.end) == 1  # never 0: "retry at once" would be wrong
    assert window("day", win.end).start == win.end  # the reset instant opens the next day
