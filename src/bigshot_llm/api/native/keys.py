"""API keys, users and the caller's identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import col, select
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, CurrentUser, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.db.models import ApiKey, User, utcnow
from bigshot_llm.errors import Conflict, Forbidden, NotFound
from bigshot_llm.schemas.access import (
    KeyCreate,
    KeyCreated,
    KeyPublic,
    KeyUpdate,
    Me,
    UserPublic,
    UserUpdate,
)
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


async def _check_key_cap(session: SessionDep, user_id: str, cap: int) -> None:
    """A user may hold `cap` active keys (0: unlimited): more keys never buy more limits, but
    an endless supply of keys is still an endless supply of things to revoke."""
    if not cap:
        return
    stmt = (
        select(func.count())
        .select_from(ApiKey)
        .where(col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
    )
    active = (await session.exec(stmt)).one()
    if active >= cap:
        raise Conflict(
            f"you already have {active} active keys, the most a user may hold "
            f"(BIGSHOT_MAX_KEYS_PER_USER={cap}); revoke one first",
            code="too_many_keys",
        )


@router.post(
    "/keys", status_code=201, response_model=Envelope[KeyCreated], summary="Create an API key"
)
async def create(
    body: KeyCreate, principal: CurrentUser, session: SessionDep, resources: ResourcesDep
) -> Response:
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
        if not principal.is_admin:
            await _check_key_cap(session, user.id, resources.settings.max_keys_per_user)
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


def user_public(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "created_at": user.created_at,
        "rate_limit_per_minute": user.rate_limit_per_minute,
        "max_streams": user.max_streams,
    }


@router.get("/users", response_model=Envelope[list[UserPublic]], summary="List users (admin)")
async def list_users(_: AdminUser, session: SessionDep) -> Response:
    users = (await session.exec(select(User).order_by(col(User.created_at)))).all()
    return ok([user_public(u) for u in users])


@router.patch(
    "/users/{user_id}",
    response_model=Envelope[UserPublic],
    summary="Set a user's limits (admin): shared by all the user's keys",
)
async def update_user(
    user_id: str,
    body: UserUpdate,
    principal: AdminUser,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' not found")
    before = user_public(user)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(user, name, value)
    session.add(user)
    audit.record(
        session, principal, "user.update", "user", user.id, before=before, after=user_public(user)
    )
    await session.commit()
    await resources.auth.invalidate_everywhere()  # every key of the user, on every replica
    return ok(user_public(user))


@router.delete(
    "/users/{user_id}",
    response_model=Envelope[UserPublic],
    summary="Remove a user (admin): their keys, providers, conversations and stream tokens end",
)
async def delete_user(
    user_id: str, principal: AdminUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user '{user_id}' not found")
    if user.id == principal.user_id:
        raise Conflict("you cannot remove your own user")
    before = user_public(user)
    await session.delete(user)  # keys, providers, conversations … go with it (ON DELETE CASCADE)
    audit.record(session, principal, "user.delete", "user", user_id, before=before)
    await session.commit()
    await resources.auth.invalidate_everywhere()
    await resources.registry.changed()  # the user's providers are gone
    return ok(before)
