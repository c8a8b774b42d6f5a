"""API keys, users and the caller's identity."""

from __future__ import annotations

from fastapi import Query
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, CurrentUser, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.access import (
    KeyCreate,
    KeyCreated,
    KeyPublic,
    KeyUpdate,
    Me,
    UserPublic,
)
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.services.access.keys import KeyService

router = api_router("/api/v1", tags=["keys"])


@router.get("/me", response_model=Envelope[Me])
async def me(principal: CurrentUser) -> Response:
    """Who am I"""
    return ok(
        Me(
            user_id=principal.user_id,
            name=principal.user_name,
            role=principal.role,
            key_id=principal.key_id,
        )
    )


@router.post("/keys", status_code=201, response_model=Envelope[KeyCreated])
async def create(
    body: KeyCreate, principal: CurrentUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    """Create an API key"""
    created = await KeyService(session, resources.auth).create(principal, body)
    return ok(created, status_code=201)


@router.get("/keys", response_model=Envelope[list[KeyPublic]])
async def list_keys(
    principal: CurrentUser,
    session: SessionDep,
    resources: ResourcesDep,
    include_revoked: bool = Query(False, description="also list revoked keys"),
) -> Response:
    """List API keys"""
    keys = KeyService(session, resources.auth)
    return ok(await keys.listed(principal, include_revoked=include_revoked))


@router.delete("/keys/{key_id}", response_model=Envelope[KeyPublic])
async def revoke(
    key_id: str, principal: CurrentUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    """Revoke an API key"""
    return ok(await KeyService(session, resources.auth).revoke(principal, key_id))


@router.patch("/keys/{key_id}", response_model=Envelope[KeyPublic])
async def update_key(
    key_id: str,
    body: KeyUpdate,
    principal: CurrentUser,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    """Rename a key or set its limits"""
    return ok(await KeyService(session, resources.auth).update(principal, key_id, body))


@router.get("/users", response_model=Envelope[list[UserPublic]])
async def list_users(_: AdminUser, session: SessionDep, resources: ResourcesDep) -> Response:
    """List users (admin)"""
    return ok(await KeyService(session, resources.auth).users())
