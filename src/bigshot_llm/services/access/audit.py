"""The audit trail: who changed what, with secrets redacted before anything is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import AuditEvent, utcnow
from bigshot_llm.db.pages import fetch_page
from bigshot_llm.schemas.access import AuditEventPublic
from bigshot_llm.schemas.base import Page
from bigshot_llm.services.access.auth import Principal

SECRET_FIELDS = frozenset({"api_key", "api_key_encrypted", "key", "key_hash", "secret", "token"})
REDACTED = "[redacted]"


def redact(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy safe to store: secret-bearing fields replaced at any depth, in nested objects
    and lists alike (their presence is kept)."""
    if values is None:
        return None
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name in SECRET_FIELDS:
            clean[name] = REDACTED if value else None
        else:
            clean[name] = _clean(value)
    return clean


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (committed with the change itself)."""
    event = AuditEvent(
        actor_id=actor.user_id if actor else None,
        actor_name=actor.user_name if actor else "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=redact(before),
        after=redact(after),
    )
    session.add(event)
    return event


class Stamped(Protocol):
    """A row that keeps the time it last changed."""

    updated_at: datetime


def record_change(
    session: AsyncSession,
    actor: Principal | None,
    row: Stamped,
    action: str,
    target_type: str,
    target_id: str | None,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEvent:
    """Stamp a changed row, stage it and its audit event in the caller's transaction."""
    row.updated_at = utcnow()
    session.add(row)
    return record(session, actor, action, target_type, target_id, before=before, after=after)


async def list_events(
    session: AsyncSession,
    *,
    limit: int,
    offset: int,
    action: str | None = None,
    target_id: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEventPublic]:
    """Audit events, newest first, filtered by whatever is given."""
    where: list[Any] = []
    if action:
        where.append(col(AuditEvent.action) == action)
    if target_id:
        where.append(col(AuditEvent.target_id) == target_id)
    if actor_id:
        where.append(col(AuditEvent.actor_id) == actor_id)
    if since:
        where.append(col(AuditEvent.at) >= since)
    if until:
        where.append(col(AuditEvent.at) <= until)
    events, total = await fetch_page(
        session, AuditEvent, where, [col(AuditEvent.id).desc()], limit=limit, offset=offset
    )
    items = [AuditEventPublic.model_validate(e, from_attributes=True) for e in events]
    return Page(items=items, total=total, limit=limit, offset=offset)
