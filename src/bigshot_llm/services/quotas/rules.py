"""What a quota is, as the hot path sees it: a small frozen value carried on the `Principal`.

The authenticator loads a key's quotas and its user's with the key itself, so admission needs
no lookup of its own; a change drops the cached principals on every replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import Quota

Subject = Literal["user", "key"]
Metric = Literal["requests", "tokens", "gpu_seconds"]
Period = Literal["day", "month"]

SUBJECTS: tuple[Subject, ...] = ("user", "key")
METRICS: tuple[Metric, ...] = ("requests", "tokens", "gpu_seconds")
PERIODS: tuple[Period, ...] = ("day", "month")
# Which periods each metric may be counted over (requests: per day only).
ALLOWED_PERIODS: dict[Metric, tuple[Period, ...]] = {
    "requests": ("day",),
    "tokens": ("day", "month"),
    "gpu_seconds": ("day", "month"),
}
ALERT_LEVELS = (80, 100)  # percent of the limit: `usage.threshold` fires once at each


@dataclass(frozen=True, slots=True)
class QuotaRule:
    """One quota: `limit` of `metric` per `period` for the user or key `subject_id`."""

    id: str
    subject: Subject
    subject_id: str
    metric: Metric
    period: Period
    limit: float

    @property
    def consumed(self) -> bool:
        """Added when a request finishes (tokens, GPU-seconds), not counted at admission."""
        return self.metric != "requests"

    def describe(self) -> dict[str, object]:
        """The `quota` object of a 429 and of the webhook."""
        limit: float | int = int(self.limit) if self.metric != "gpu_seconds" else self.limit
        return {
            "id": self.id,
            "subject": self.subject,
            "subject_id": self.subject_id,
            "metric": self.metric,
            "period": self.period,
            "limit": limit,
        }


def rule_of(row: Quota) -> QuotaRule:
    return QuotaRule(
        row.id,
        row.subject,  # type: ignore[arg-type]
        row.subject_id,
        row.metric,  # type: ignore[arg-type]
        row.period,  # type: ignore[arg-type]
        float(row.limit),
    )


async def load_rules(session: AsyncSession, user_id: str, key_id: str) -> tuple[QuotaRule, ...]:
    """The quotas on a user and on one of their keys."""
    stmt = select(Quota).where(
        or_(
            and_(col(Quota.subject) == "user", col(Quota.subject_id) == user_id),
            and_(col(Quota.subject) == "key", col(Quota.subject_id) == key_id),
        )
    )
    rows = (await session.exec(stmt)).all()
    return tuple(rule_of(row) for row in sorted(rows, key=lambda r: (r.subject, r.metric)))
