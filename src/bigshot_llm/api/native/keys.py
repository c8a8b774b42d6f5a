"""API keys, users and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
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
    UserUpdate,
)
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.services.access.keys import KeyService

router = api_router("/api/v1", tags=["keys"])


def _keys(session: SessionDep, resources: ResourcesDep) -> KeyService:
    return KeyService(
        session, resources.auth, max_keys_per_user=resources.settings.max_keys_per_user
    )


Keys = Annotated[KeyService, Depends(_keys)]


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
async def create(body: KeyCreate, principal: CurrentUser, keys: Keys) -> Response:
    """Create an API key (shown once)"""
    return ok(await keys.create(principal, body), status_code=201)


@router.get("/keys", response_model=Envelope[list[KeyPublic]])
async def list_keys(
    principal: CurrentUser,
    keys: Keys,
    include_revoked: bool = Query(False, description="also list revoked keys"),
) -> Response:
    """List API keys"""
    return ok(await keys.listed(principal, include_revoked=include_revoked))


@router.delete("/keys/{key_id}", response_model=Envelope[KeyPublic])
async def revoke(key_id: str, principal: CurrentUser, keys: Keys) -> Response:
    """Revoke an API key"""
    return ok(await keys.revoke(principal, key_id))


@router.patch("/keys/{key_id}", response_model=Envelope[KeyPublic])
async def update_key(key_id: str, body: KeyUpdate, principal: CurrentUser, keys: Keys) -> Response:
    """Rename a key or set its limits"""
    return ok(await keys.update(principal, key_id, body))


@router.get("/users", response_model=Envelope[list[UserPublic]])
async def list_users(_: AdminUser, keys: Keys) -> Response:
    """List users (admin)"""
    return ok(await keys.users())


@router.patch("/users/{user_id}", response_model=Envelope[UserPublic])
async def update_user(user_id: str, body: UserUpdate, principal: AdminUser, keys: Keys) -> Response:
    """Set a user's limits (admin): shared by all the user's keys"""
    return ok(await keys.update_user(principal, user_id, body))


@router.delete("/users/{user_id}", response_model=Envelope[UserPublic])
async def delete_user(
    user_id: str, principal: AdminUser, keys: Keys, resources: ResourcesDep
) -> Response:
    """Remove a user (admin): their keys, providers, conversations and stream tokens end"""
    removed = await keys.delete_user(principal, user_id)
    await resources.registry.changed()  # the user's providers are gone
    return ok(removed)
