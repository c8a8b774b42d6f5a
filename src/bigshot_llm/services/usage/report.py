"""Reading usage back: totals grouped by up to three of day, model, provider, key, user and
endpoint (`user,model,day` is the accounting view), with tokens, GPU-seconds, queue time,
energy and shadow cost.

Aggregation runs in SQL (the `(user_id, at)`, `(key_id, at)` and `(at)` indexes serve the
filters); days are UTC on both SQLite and Postgres.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Integer, case, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import ApiKey, UsageRecord, User

Dimension = Literal["day", "model", "provider", "key", "user", "endpoint"]
DIMENSIONS: tuple[str, ...] = ("day", "model", "provider", "key", "user", "endpoint")
METRICS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "errors",
    "cancelled",
    "avg_ttft_ms",
    "avg_duration_ms",
    "gpu_seconds",
    "queue_ms",
    "avg_queue_ms",
    "energy_wh",
    "shadow_cost",
)
MAX_DIMENSIONS = 3


@dataclass(frozen=True, slots=True)
class UsageFilter:
    since: datetime
    until: datetime
    user_id: str | None = None
    key_id: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        where = [col(UsageRecord.at) >= self.since, col(UsageRecord.at) < self.until]
        if self.user_id:
            where.append(col(UsageRecord.user_id) == self.user_id)
        if self.key_id:
            where.append(col(UsageRecord.key_id) == self.key_id)
        return where


def _day(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", col(UsageRecord.at)), "YYYY-MM-DD")
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (UTCDateTime).
    return func.substr(col(UsageRecord.at), 1, 10)


def _column(dimension: str, dialect: str) -> ColumnElement[Any]:
    columns: dict[str, Any] = {
        "model": col(UsageRecord.model),
        "provider": col(UsageRecord.provider),
        "key": col(UsageRecord.key_id),
        "user": col(UsageRecord.user_id),
        "endpoint": col(UsageRecord.endpoint),
    }
    return _day(dialect) if dimension == "day" else columns[dimension]


def _aggregates() -> list[ColumnElement[Any]]:
    status = col(UsageRecord.status)
    return [
        func.count().label("requests"),
        func.coalesce(func.sum(col(UsageRecord.prompt_tokens)), 0).label("prompt_tokens"),
        func.coalesce(func.sum(col(UsageRecord.completion_tokens)), 0).label("completion_tokens"),
        func.coalesce(
            func.sum(case((status.not_in(["ok", "cancelled"]), 1), else_=0).cast(Integer)), 0
        ).label("errors"),
        func.coalesce(func.sum(case((status == "cancelled", 1), else_=0).cast(Integer)), 0).label(
            "cancelled"
        ),
        func.avg(col(UsageRecord.ttft_ms)).label("avg_ttft_ms"),
        func.avg(col(UsageRecord.duration_ms)).label("avg_duration_ms"),
        func.coalesce(func.sum(col(UsageRecord.gpu_seconds)), 0.0).label("gpu_seconds"),
        func.sum(col(UsageRecord.queue_ms)).label("queue_ms"),
        func.avg(col(UsageRecord.queue_ms)).label("avg_queue_ms"),
        # NULL when no record of the group had watts / a price declared: "unknown", not 0.
        func.sum(col(UsageRecord.energy_wh)).label("energy_wh"),
        func.sum(col(UsageRecord.shadow_cost)).label("shadow_cost"),
    ]


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _metrics(row: Any, offset: int) -> dict[str, Any]:
    requests, prompt, completion, errors, cancelled, ttft, duration = row[offset : offset + 7]
    gpu, queued, avg_queued, energy, cost = row[offset + 7 : offset + 12]
    return {
        "requests": int(requests or 0),
        "prompt_tokens": int(prompt or 0),
        "completion_tokens": int(completion or 0),
        "total_tokens": int(prompt or 0) + int(completion or 0),
        "errors": int(errors or 0),
        "cancelled": int(cancelled or 0),
        "avg_ttft_ms": None if ttft is None else round(float(ttft), 1),
        "avg_duration_ms": None if duration is None else round(float(duration), 1),
        "gpu_seconds": round(float(gpu or 0.0), 3),
        "queue_ms": _rounded(queued, 1),
        "avg_queue_ms": _rounded(avg_queued, 1),
        "energy_wh": _rounded(energy, 6),
        "shadow_cost": _rounded(cost, 6),
    }


async def summarize(
    session: AsyncSession, where: UsageFilter, group_by: list[str]
) -> dict[str, Any]:
    """`{"groups": [...], "totals": {...}}` for the filter, grouped by up to three dimensions."""
    bind = session.bind
    dialect = bind.dialect.name if bind is not None else "sqlite"
    keys = [_column(d, dialect).label(d) for d in group_by]
    stmt = select(*keys, *_aggregates()).where(*where.clauses())
    if keys:
        stmt = stmt.group_by(*keys).order_by(*keys)
    rows = (await session.exec(stmt)).all()
    groups = []
    for row in rows:
        group = {d: row[i] for i, d in enumerate(group_by)}
        group.update(_metrics(row, len(group_by)))
        groups.append(group)
    totals_row = (await session.exec(select(*_aggregates()).where(*where.clauses()))).one()
    await _add_names(session, group_by, groups)
    return {"groups": groups, "totals": _metrics(totals_row, 0)}


async def _add_names(session: AsyncSession, group_by: list[str], groups: list[dict]) -> None:
    """Key and user groups get the key's / user's name next to the id."""
    for dimension, table in (("key", ApiKey), ("user", User)):
        if dimension not in group_by:
            continue
        ids = {g[dimension] for g in groups if g[dimension]}
        found = await session.exec(select(table.id, table.name).where(col(table.id).in_(ids)))
        names = dict(found.all())
        for group in groups:
            group[f"{dimension}_name"] = names.get(group[dimension])


async def recent(session: AsyncSession, where: UsageFilter, limit: int) -> list[dict[str, Any]]:
    """The latest records (newest first) for the latency/TTFT view."""
    stmt = (
        select(UsageRecord)
        .where(*where.clauses())
        .order_by(col(UsageRecord.at).desc(), col(UsageRecord.id).desc())
        .limit(limit)
    )
    return [r.model_dump(mode="json") for r in (await session.exec(stmt)).all()]


def to_csv(group_by: list[str], groups: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    extra = [n for n in ("key_name", "user_name") if any(n in g for g in groups)]
    writer = csv.DictWriter(
        out, fieldnames=[*group_by, *extra, *METRICS], extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for group in groups:
        writer.writerow({k: _csv_safe(v) for k, v in group.items()})
    return out.getvalue()


def _csv_safe(value: Any) -> Any:
    # Spreadsheets run cells starting with = + - @ as formulas (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
