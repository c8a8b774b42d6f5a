"""`POST /api/v1/llm-providers/discover` (admins): find model servers on the hosts and ports
an admin names, and optionally create a provider config for each one found."""

from __future__ import annotations

from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, ConfigsDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.model_ops import DiscoverAnswer, DiscoverRequest
from bigshot_llm.services.providers import discovery

router = api_router("/api/v1/llm-providers", tags=["model operations"])


@router.post(
    "/discover",
    response_model=Envelope[DiscoverAnswer],
    description="Probes only the addresses given (at most 256, each on every port in `ports`), "
    "concurrently with short timeouts. Link-local and cloud-metadata addresses are refused. "
    "With `create: true` a global provider is created (audited) for each server found that "
    "no global provider points at yet.",
)
async def discover_servers(
    body: DiscoverRequest, principal: AdminUser, configs: ConfigsDep
) -> Response:
    """Find LM Studio / OpenAI-compatible servers on given hosts or a small network"""
    return ok(await discovery.run(body, principal, configs))
