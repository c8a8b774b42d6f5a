"""The audit trail (admins)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Query
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.access import AuditEventPublic
from bigshot_llm.schemas.base import Envelope, Page
from bigshot_llm.services.access import audit

router = api_router("/api/v1", tags=["audit"])


@router.get("/audit", response_model=Envelope[Page[AuditEventPublic]])
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
    """Audit events"""
    page = await audit.list_events(
        session,
        limit=limit,
        offset=offset,
        action=action,
        target_id=target_id,
        actor_id=actor_id,
        since=since,
        until=until,
    )
    return ok(page)
