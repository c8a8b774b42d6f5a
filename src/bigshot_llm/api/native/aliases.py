"""Model aliases: names clients send (`claude-sonnet-4-5`, `default`) for a provider's model.

Registered before the provider-config router: `/api/v1/llm-providers/{provider_id}` would
otherwise take `aliases` for a provider id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, ResourcesDep, SessionDep, enforce_rate_limit
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.aliases import AliasCreate, AliasPublic, AliasUpdate, AliasWritten
from bigshot_llm.schemas.base import Deleted, Envelope
from bigshot_llm.services.providers.alias_configs import AliasService, alias_public

router = api_router("/api/v1/llm-providers/aliases", tags=["model aliases"])
# Writes read the target provider's model list (a request to it on the caller's behalf).
RATE_LIMITED = [Depends(enforce_rate_limit)]


def _service(session: SessionDep, resources: ResourcesDep) -> AliasService:
    return AliasService(session, resources.router)


AliasesDep = Annotated[AliasService, Depends(_service)]


@router.get("", response_model=Envelope[list[AliasPublic]])
async def list_aliases(
    principal: CurrentUser,
    aliases: AliasesDep,
    scope: str | None = Query(None, pattern="^(global|user)$", description="filter by scope"),
    owner_id: str | None = Query(None, max_length=32, description="one user's own aliases"),
) -> Response:
    """List model aliases

    Admins see every alias; users the global ones and their own. A user's alias overrides
    a global one of the same name for that user; `BIGSHOT_MODEL_ALIASES` (not listed here)
    applies to names neither defines.
    """
    records = aliases.visible(principal)
    if scope is not None:
        records = [r for r in records if (r.owner_id is None) == (scope == "global")]
    if owner_id is not None:
        records = [r for r in records if r.owner_id == owner_id]
    return ok([alias_public(r, aliases.registry) for r in records])


@router.post("", status_code=201, response_model=Envelope[AliasWritten], dependencies=RATE_LIMITED)
async def create_alias(body: AliasCreate, principal: CurrentUser, aliases: AliasesDep) -> Response:
    """Create a model alias

    The model is checked against the provider's model list; when the list cannot be read the
    alias is stored and `warnings` says so.
    """
    return ok(await aliases.create(principal, body), status_code=201)


@router.get("/{alias_id}", response_model=Envelope[AliasPublic])
async def get_alias(alias_id: str, principal: CurrentUser, aliases: AliasesDep) -> Response:
    """One model alias"""
    return ok(alias_public(aliases.one(principal, alias_id), aliases.registry))


@router.patch("/{alias_id}", response_model=Envelope[AliasWritten], dependencies=RATE_LIMITED)
async def update_alias(
    alias_id: str, body: AliasUpdate, principal: CurrentUser, aliases: AliasesDep
) -> Response:
    """Change a model alias (its name, provider or model)"""
    return ok(await aliases.update(principal, alias_id, body))


@router.delete("/{alias_id}", response_model=Envelope[Deleted])
async def delete_alias(alias_id: str, principal: CurrentUser, aliases: AliasesDep) -> Response:
    """Delete a model alias"""
    await aliases.delete(principal, alias_id)
    return ok(Deleted(id=alias_id))
