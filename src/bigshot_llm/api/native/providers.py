"""Provider-config management: CRUD, activation (runtime switching) and reachability tests."""

from __future__ import annotations

from fastapi import Depends, Query
from starlette.responses import Response

from bigshot_llm.api.deps import ConfigsDep, CurrentUser, ResourcesDep, enforce_rate_limit
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.errors import NotFound
from bigshot_llm.schemas.base import Deleted, Envelope
from bigshot_llm.schemas.providers import (
    ActivateRequest,
    ActiveProvider,
    ProviderCreate,
    ProviderPublic,
    ProviderTestResult,
    ProviderUpdate,
)
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.providers.health import reachability
from bigshot_llm.services.providers.registry import ProviderRecord

router = api_router("/api/v1/llm-providers", tags=["provider configs"])
# Routes that make the gateway contact a server on the caller's behalf (a test, the SSRF
# guard's DNS look-ups) count against the caller's request limit like the LLM routes.
RATE_LIMITED = [Depends(enforce_rate_limit)]


def _visible(resources: ResourcesDep, principal: Principal, provider_id: str) -> ProviderRecord:
    record = resources.registry.get(provider_id)
    if record is None or record not in resources.registry.visible_to(principal):
        raise NotFound(f"provider '{provider_id}' not found")
    return record


@router.get("", response_model=Envelope[list[ProviderPublic]])
async def list_providers(
    principal: CurrentUser,
    resources: ResourcesDep,
    scope: str | None = Query(None, pattern="^(global|user)$", description="filter by scope"),
) -> Response:
    """List provider configs"""
    records = resources.registry.visible_to(principal)
    if scope == "global":
        records = [r for r in records if r.owner_id is None]
    elif scope == "user":
        records = [r for r in records if r.owner_id is not None]
    return ok([r.public() for r in records])


@router.post(
    "", status_code=201, response_model=Envelope[ProviderPublic], dependencies=RATE_LIMITED
)
async def create_provider(
    body: ProviderCreate, principal: CurrentUser, configs: ConfigsDep
) -> Response:
    """Create a provider"""
    record = await configs.create(principal, body)
    return ok(record.public(), status_code=201)


@router.get("/active", response_model=Envelope[ActiveProvider])
async def active_provider(principal: CurrentUser, resources: ResourcesDep) -> Response:
    """The caller's active provider"""
    record = resources.registry.active_for(principal)
    if record is None:
        return ok(ActiveProvider(provider=None, scope=None))
    own = resources.registry.selection(principal.user_id) == record.id
    return ok(ActiveProvider(provider=record.public(), scope="user" if own else "global"))


@router.get("/{provider_id}", response_model=Envelope[ProviderPublic])
async def get_provider(
    provider_id: str, principal: CurrentUser, resources: ResourcesDep
) -> Response:
    """One provider"""
    return ok(_visible(resources, principal, provider_id).public())


@router.patch("/{provider_id}", response_model=Envelope[ProviderPublic], dependencies=RATE_LIMITED)
async def update_provider(
    provider_id: str, body: ProviderUpdate, principal: CurrentUser, configs: ConfigsDep
) -> Response:
    """Change it"""
    record = await configs.update(principal, provider_id, body)
    return ok(record.public())


@router.delete("/{provider_id}")
async def delete_provider(
    provider_id: str, principal: CurrentUser, configs: ConfigsDep
) -> Response:
    """Delete it"""
    await configs.delete(principal, provider_id)
    return ok(Deleted(id=provider_id))


@router.post("/{provider_id}/activate", response_model=Envelope[ActiveProvider])
async def activate_provider(
    provider_id: str,
    principal: CurrentUser,
    configs: ConfigsDep,
    resources: ResourcesDep,
    body: ActivateRequest | None = None,
) -> Response:
    """Make it the active provider (takes effect for the next request)"""
    _visible(resources, principal, provider_id)
    record, scope = await configs.activate(principal, provider_id, body or ActivateRequest())
    return ok(ActiveProvider(provider=record.public(), scope=scope))


@router.post(
    "/{provider_id}/test", response_model=Envelope[ProviderTestResult], dependencies=RATE_LIMITED
)
async def test_provider(
    provider_id: str, principal: CurrentUser, resources: ResourcesDep
) -> Response:
    """Reachability, latency and model count"""
    record = _visible(resources, principal, provider_id)
    return ok(await reachability(record, resources.registry.provider(record)))
