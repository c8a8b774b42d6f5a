"""Provider-config management: CRUD, activation (runtime switching) and reachability tests."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Query
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, ResourcesDep, SessionDep, enforce_rate_limit
from bigshot_llm.api.responses import ok
from bigshot_llm.errors import GatewayError, NotFound
from bigshot_llm.resources import Resources
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.providers import (
    ActivateRequest,
    ActiveProvider,
    ProviderCreate,
    ProviderPublic,
    ProviderTestResult,
    ProviderUpdate,
)
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.providers.configs import ProviderConfigService
from bigshot_llm.services.providers.registry import ProviderRecord

router = APIRouter(prefix="/api/v1/llm-providers", tags=["provider configs"])
# Routes that make the gateway contact a server on the caller's behalf (a test, the SSRF
# guard's DNS look-ups) count against the caller's request limit like the LLM routes.
RATE_LIMITED = [Depends(enforce_rate_limit)]


def config_service(session: AsyncSession, resources: Resources) -> ProviderConfigService:
    return ProviderConfigService(
        session,
        resources.registry,
        resources.box,
        allowed_hosts=resources.settings.allowed_upstream_host_set,
        max_providers=resources.settings.max_providers_per_user,
        max_pool_urls=resources.settings.max_pool_urls_per_user,
    )


def _visible(resources: ResourcesDep, principal: Principal, provider_id: str) -> ProviderRecord:
    record = resources.registry.get(provider_id)
    if record is None or record not in resources.registry.visible_to(principal):
        raise NotFound(f"provider '{provider_id}' not found")
    return record


@router.get("", response_model=Envelope[list[ProviderPublic]], summary="List provider configs")
async def list_providers(
    principal: CurrentUser,
    resources: ResourcesDep,
    scope: str | None = Query(None, pattern="^(global|user)$", description="filter by scope"),
) -> Response:
    records = resources.registry.visible_to(principal)
    if scope == "global":
        records = [r for r in records if r.owner_id is None]
    elif scope == "user":
        records = [r for r in records if r.owner_id is not None]
    return ok([r.public() for r in records])


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ProviderPublic],
    summary="Create a provider",
    dependencies=RATE_LIMITED,
)
async def create_provider(
    body: ProviderCreate, principal: CurrentUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    service = config_service(session, resources)
    record = await service.create(principal, body)
    return ok(record.public(), status_code=201)


@router.get(
    "/active", response_model=Envelope[ActiveProvider], summary="The caller's active provider"
)
async def active_provider(principal: CurrentUser, resources: ResourcesDep) -> Response:
    record = resources.registry.active_for(principal)
    if record is None:
        return ok({"provider": None, "scope": None})
    own = resources.registry.selection(principal.user_id) == record.id
    return ok({"provider": record.public(), "scope": "user" if own else "global"})


@router.get("/{provider_id}", response_model=Envelope[ProviderPublic], summary="One provider")
async def get_provider(
    provider_id: str, principal: CurrentUser, resources: ResourcesDep
) -> Response:
    return ok(_visible(resources, principal, provider_id).public())


@router.patch(
    "/{provider_id}",
    response_model=Envelope[ProviderPublic],
    summary="Change it",
    dependencies=RATE_LIMITED,
)
async def update_provider(
    provider_id: str,
    body: ProviderUpdate,
    principal: CurrentUser,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    service = config_service(session, resources)
    record = await service.update(principal, provider_id, body)
    return ok(record.public())


@router.delete("/{provider_id}", summary="Delete it")
async def delete_provider(
    provider_id: str, principal: CurrentUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    service = config_service(session, resources)
    await service.delete(principal, provider_id)
    return ok({"id": provider_id, "deleted": True})


@router.post(
    "/{provider_id}/activate",
    response_model=Envelope[ActiveProvider],
    summary="Make it the active provider (takes effect for the next request)",
)
async def activate_provider(
    provider_id: str,
    principal: CurrentUser,
    session: SessionDep,
    resources: ResourcesDep,
    body: ActivateRequest | None = None,
) -> Response:
    _visible(resources, principal, provider_id)
    service = config_service(session, resources)
    record, scope = await service.activate(principal, provider_id, body or ActivateRequest())
    return ok({"provider": record.public(), "scope": scope})


@router.post(
    "/{provider_id}/test",
    response_model=Envelope[ProviderTestResult],
    summary="Reachability, latency and model count",
    dependencies=RATE_LIMITED,
)
async def test_provider(
    provider_id: str, principal: CurrentUser, resources: ResourcesDep
) -> Response:
    record = _visible(resources, principal, provider_id)
    provider = resources.registry.provider(record)
    started = time.perf_counter()
    try:
        models = await provider.list_models(detailed=False)
    except GatewayError as exc:
        latency = (time.perf_counter() - started) * 1000
        message, code = exc.message, exc.code
        if record.owner_id is not None:
            # A provider a user made: one answer for every failure (refused, closed, not an
            # LLM server, an error page), so `/test` cannot map local ports or read services.
            message = f"no usable model list from {record.base_url}"
            code = "provider_test_failed"
        return ok(
            {
                "ok": False,
                "latency_ms": round(latency, 1),
                "model_count": None,
                "message": message,
                "error_code": code,
            }
        )
    latency = (time.perf_counter() - started) * 1000
    return ok(
        {
            "ok": True,
            "latency_ms": round(latency, 1),
            "model_count": len(models),
            "message": f"reachable: {len(models)} models at {record.base_url}",
            "error_code": None,
        }
    )
