"""`POST /api/v1/llm-providers/discover` (admins): find model servers on the hosts and ports
an admin names, and optionally create a provider config for each one found."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, ResourcesDep, SessionDep
from bigshot_llm.api.native.providers import config_service
from bigshot_llm.api.responses import ok
from bigshot_llm.resources import Resources
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.model_ops import DiscoverAnswer, DiscoverRequest
from bigshot_llm.schemas.providers import ProviderCreate
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.providers import discovery

router = APIRouter(prefix="/api/v1/llm-providers", tags=["model operations"])


async def _create_providers(
    found: list[discovery.Found], principal: Principal, session: AsyncSession, resources: Resources
) -> None:
    """One global provider per server found, unless one already points there."""
    service = config_service(session, resources)
    for server in found:
        records = [r for r in resources.registry.all_records() if r.owner_id is None]
        existing = next((r for r in records if r.base_url == server.base_url), None)
        if existing is not None:
            server.extra["provider"] = existing.public()
            continue
        name = discovery.unique_name(discovery.provider_name(server), {r.name for r in records})
        body = ProviderCreate(name=name, kind=server.kind, base_url=server.base_url, scope="global")
        record = await service.create(principal, body)
        server.extra.update(provider=record.public(), created=True)


@router.post(
    "/discover",
    response_model=Envelope[DiscoverAnswer],
    summary="Find LM Studio / OpenAI-compatible servers on given hosts or a small network",
    description="Probes only the addresses given (at most 256, each on every port in `ports`), "
    "concurrently with short timeouts. Link-local and cloud-metadata addresses are refused. "
    "With `create: true` a global provider is created (audited) for each server found that "
    "no global provider points at yet.",
)
async def discover_servers(
    body: DiscoverRequest, principal: AdminUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    started = time.perf_counter()
    if body.cidr is not None:
        discovery.refuse_blocked_network(body.cidr)
    else:
        await discovery.refuse_blocked(body.addresses())
    found, probed = await discovery.discover(body.addresses(), body.ports)
    if body.create:
        await _create_providers(found, principal, session, resources)
    answer: dict[str, Any] = {
        "probed": probed,
        "found": [server.to_dict() for server in found],
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return ok(answer)
