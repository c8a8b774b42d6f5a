"""API keys, users and the caller's identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlmodel import col, select
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, CurrentUser, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.db.models import ApiKey, User, utcnow
from bigshot_llm.errors import Conflict, Forbidden, NotFound
from bigshot_llm.schemas.access import KeyCreate, KeyCreated, KeyPublic, KeyUpdate, Me
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import create_key, ensure_user

router = APIRouter(prefix="/api/v1", tags=["keys"])


def key_public(key: ApiKey, user_name: str | None = None) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "user_id": key.user_id,
        "user_name": user_name,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "max_streams": key.max_streams,
    }


@router.get("/me", response_model=Envelope[Me], summary="Who am I")
async def me(principal: CurrentUser) -> Response:
    return ok(
        {
            "user_id": principal.user_id,
            "name": principal.user_name,
            "role": principal.role,
            "key_id": principal.key_id,
        }
    )


@router.post(
    "/keys", status_code=201, response_model=Envelope[KeyCreated], summary="Create an API key"
)
async def create(body: KeyCreate, principal: CurrentUser, session: SessionDep) -> Response:
    limits_given = body.rate_limit_per_minute is not None or body.max_streams is not None
    if (body.user or body.role or limits_given) and not principal.is_admin:
        raise Forbidden("only admins can create keys for other users, choose roles or limits")
    if body.user:
        user = await ensure_user(session, body.user, body.role or "user")
        if body.role and user.role != body.role:
            raise Conflict(
                f"user '{body.user}' exists with role '{user.role}'",
                details=[{"loc": ["body", "role"], "msg": "does not match the existing user"}],
            )
    else:
        own = await session.get(User, principal.user_id)
        if own is None:
            raise NotFound("your user no longer exists")
        user = own
    key, clear = await create_key(session, user, body.name)
    key.rate_limit_per_minute = body.rate_limit_per_minute
    key.max_streams = body.max_streams
    audit.record(
        session,
        principal,
        "key.create",
        "api_key",
        key.id,
        after={"name": key.name, "prefix": key.prefix, "user": user.name, "role": user.role},
    )
    await session.commit()
    return ok({**key_public(key, user.name), "key": clear}, status_code=201)


@router.get("/keys", response_model=Envelope[list[KeyPublic]], summary="List API keys")
async def list_keys(
    principal: CurrentUser,
    session: SessionDep,
    include_revoked: bool = Query(False, description="also list revoked keys"),
) -> Response:
    stmt = select(ApiKey, User).join(User, col(User.id) == col(ApiKey.user_id))
    if not principal.is_admin:
        stmt = stmt.where(col(ApiKey.user_id) == principal.user_id)
    if not include_revoked:
        stmt = stmt.where(col(ApiKey.revoked_at).is_(None))
    rows = (await session.exec(stmt.order_by(col(ApiKey.created_at)))).all()
    return ok([key_public(key, user.name) for key, user in rows])


@router.delete("/keys/{key_id}", response_model=Envelope[KeyPublic], summary="Revoke an API key")
async def revoke(
    key_id: str, principal: CurrentUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    key = await session.get(ApiKey, key_id)
    if key is None or (key.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"key '{key_id}' not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        audit.record(session, principal, "key.revoke", "api_key", key.id, before={"name": key.name})
        await session.commit()
    await resources.auth.invalidate_everywhere(key.key_hash)  # every replica, within ~1 s
    return ok(key_public(key))


@router.patch(
    "/keys/{key_id}", response_model=Envelope[KeyPublic], summary="Rename a key or set its limits"
)
async def update_key(
    key_id: str,
    body: KeyUpdate,
    principal: CurrentUser,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    key = await session.get(ApiKey, key_id)
    if key is None or (key.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"key '{key_id}' not found")
    changes = body.model_dump(exclude_unset=True)
    if {"rate_limit_per_minute", "max_streams"} & changes.keys() and not principal.is_admin:
        raise Forbidden("only admins can change a key's limits")
    before = key_public(key)
    for name, value in changes.items():
        if name == "name" and value is None:
            continue
        setattr(key, name, value)
    session.add(key)
    audit.record(
        session, principal, "key.update", "api_key", key.id, before=before, after=key_public(key)
    )
    await session.commit()
    await resources.auth.invalidate_everywhere(key.key_hash)  # every replica, within ~1 s
    return ok(key_public(key))


@router.get("/users", summary="List users (admin)")
async def list_users(_: AdminUser, session: SessionDep) -> Response:
    users = (await session.exec(select(User).order_by(col(User.created_at)))).all()
    return ok(
        [{"id": u.id, "name": u.name, "role": u.role, "created_at": u.created_at} for u in users]
    )
