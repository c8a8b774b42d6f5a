"""The audit trail (admins)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import col, select
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.db.models import AuditEvent
from bigshot_llm.schemas.access import AuditEventPublic
from bigshot_llm.schemas.base import Envelope, Page

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=Envelope[Page[AuditEventPublic]], summary="Audit events")
async def list_audit(
    _: AdminUser,
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    action: str | None = Query(None, max_length=64, description="e.g. provider.update"),
    target_id: str | None = Query(None, max_length=64),
    actor_id: str | None = Query(None, max_length=32),
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
) -> Response:
    filters = []
    if action:
        filters.append(col(AuditEvent.action) == action)
    if target_id:
        filters.append(col(AuditEvent.target_id) == target_id)
    if actor_id:
        filters.append(col(AuditEvent.actor_id) == actor_id)
    if since:
        filters.append(col(AuditEvent.at) >= since)
    if until:
        filters.append(col(AuditEvent.at) <= until)
    total = (await session.exec(select(func.count()).select_from(AuditEvent).where(*filters))).one()
    stmt = (
        select(AuditEvent)
        .where(*filters)
        .order_by(col(AuditEvent.id).desc())
        .offset(offset)
        .limit(limit)
    )
    events = (await session.exec(stmt)).all()
    return ok(
        {
            "items": [e.model_dump() for e in events],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )
