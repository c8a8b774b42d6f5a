"""`GET /metrics`: Prometheus text format, for loopback scrapers or an admin key.

Left out of the OpenAPI schema (it is not part of the JSON API). Behind a reverse proxy on
the same host every client looks like loopback: set `BIGSHOT_METRICS_LOOPBACK_OPEN=false`
then, so an admin key is always needed.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from bigshot_llm.api.deps import ResourcesDep, presented_key
from bigshot_llm.api.routing import api_router
from bigshot_llm.errors import Forbidden, NotFound, Unauthorized
from bigshot_llm.resources import Resources
from bigshot_llm.services.usage.metrics import CONTENT_TYPE_LATEST
from bigshot_llm.settings import is_loopback_host

router = api_router(tags=["metrics"])


async def _allowed(request: Request, resources: Resources) -> None:
    settings = resources.settings
    host = request.client.host if request.client else ""
    if settings.metrics_loopback_open and is_loopback_host(host):
        return
    key = presented_key(request)
    if not key:
        raise Unauthorized(
            "/metrics needs an admin key from a non-loopback address",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = await resources.auth.resolve(key) if len(key) <= 200 else None
    if principal is None:
        await resources.rate_limits.hit_failed_auth(host or "unknown")
        raise Unauthorized("invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    if not principal.is_admin:
        raise Forbidden("/metrics needs an admin key")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, resources: ResourcesDep) -> Response:
    registry = resources.metrics
    if registry is None:
        raise NotFound("metrics are turned off (BIGSHOT_METRICS=false)")
    await _allowed(request, resources)
    registry.sync_cache(resources.catalog.hits, resources.catalog.misses)
    registry.sync_dependency_errors("redis", "rate_limits", resources.rate_limits.storage_errors)
    registry.sync_dependency_errors("redis", "stream_slots", resources.slots.storage_errors)
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)
