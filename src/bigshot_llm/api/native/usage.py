"""Usage of the LLM endpoints: totals grouped by day/model/provider/key/user (up to three, such
as `user,model,day`) with tokens, GPU-seconds, queue time, energy and shadow cost; CSV; recent
requests.

Users see their own usage; admins anyone's (`user_id`, `key_id` filters). Queued records are
written before the query, so a request shows up as soon as it has finished.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import Query
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.errors import Forbidden, RequestValidationFailed
from bigshot_llm.resources import Resources
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.usage import RecentUsage, UsageReport
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.usage.report import (
    DIMENSIONS,
    MAX_DIMENSIONS,
    UsageFilter,
    recent,
    summarize,
    to_csv,
)

router = api_router("/api/v1/usage", tags=["usage"])

DEFAULT_DAYS = 30


CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report; with `format=csv` a `text/csv` table (one row per group).",
        "content": {"text/csv": {"example": "day,requests,prompt_tokens,...\n2026-11-28,3,42,..."}},
    }
}


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _refuse(field: str, message: str) -> RequestValidationFailed:
    return RequestValidationFailed(
        f"{field}: {message}", details=[{"loc": ["query", field], "field": field, "msg": message}]
    )


def usage_filter(
    principal: Principal,
    since: datetime | None,
    until: datetime | None,
    user_id: str | None,
    key_id: str | None,
) -> UsageFilter:
    """The caller's filter: a user is held to their own records."""
    if not principal.is_admin:
        if user_id and user_id != principal.user_id:
            raise Forbidden("only admins can see another user's usage")
        user_id = principal.user_id
    end = _aware(until) or datetime.now(UTC)
    start = _aware(since) or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise _refuse("since", "must be before until")
    return UsageFilter(since=start, until=end, user_id=user_id, key_id=key_id)


def parse_group_by(raw: str) -> list[str]:
    dims = [d.strip() for d in raw.split(",") if d.strip()]
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or len(dims) > MAX_DIMENSIONS or len(set(dims)) != len(dims):
        raise _refuse(
            "group_by", f"up to {MAX_DIMENSIONS} of {', '.join(DIMENSIONS)}, comma-separated"
        )
    return dims


async def _flush(resources: Resources) -> None:
    await resources.usage.flush()


SinceQuery = Query(None, description="start (ISO 8601, UTC if no zone); default: 30 days ago")
UntilQuery = Query(None, description="end, exclusive; default: now")


@router.get("", response_model=Envelope[UsageReport], responses=CSV_DOC)
async def usage_summary(
    resources: ResourcesDep,
    principal: CurrentUser,
    session: SessionDep,
    group_by: str = Query(
        "day",
        max_length=40,
        description="day, model, provider, key, user, endpoint; up to three, e.g. `day,model` "
        "or `user,model,day` (the accounting view)",
    ),
    since: datetime | None = SinceQuery,
    until: datetime | None = UntilQuery,
    user_id: str | None = Query(None, max_length=32, description="admins: any user"),
    key_id: str | None = Query(None, max_length=32),
    format: Literal["json", "csv"] = Query("json", description="`csv` for a text/csv download"),
) -> Response:
    """Usage totals, grouped (JSON or CSV)"""
    dims = parse_group_by(group_by)
    where = usage_filter(principal, since, until, user_id, key_id)
    await _flush(resources)
    report = await summarize(session, where, dims)
    if format == "csv":
        return Response(
            to_csv(dims, report["groups"]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="usage.csv"'},
        )
    return ok(UsageReport(group_by=dims, since=where.since, until=where.until, **report))


@router.get("/recent", response_model=Envelope[RecentUsage])
async def usage_recent(
    resources: ResourcesDep,
    principal: CurrentUser,
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    user_id: str | None = Query(None, max_length=32, description="admins: any user"),
    key_id: str | None = Query(None, max_length=32),
) -> Response:
    """Your latest LLM requests with latency and TTFT"""
    where = usage_filter(principal, datetime(2000, 1, 1, tzinfo=UTC), None, user_id, key_id)
    await _flush(resources)
    return ok(RecentUsage.model_validate({"items": await recent(session, where, limit)}))
