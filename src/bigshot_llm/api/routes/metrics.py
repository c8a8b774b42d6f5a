"""`GET /metrics`: Prometheus text format, for loopback scrapers or an admin key.

Left out of the OpenAPI schema (it is not part of the JSON API). Behind a reverse proxy on
the same host every client looks like loopback: set `BIGSHOT_METRICS_LOOPBACK_OPEN=false`
then, so an admin key is always needed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from bigshot_llm.api.deps import presented_key
from bigshot_llm.errors import Forbidden, NotFound, Unauthorized
from bigshot_llm.services.metrics import CONTENT_TYPE_LATEST
from bigshot_llm.settings import is_loopback_host

router = APIRouter(tags=["metrics"])


async def _allowed(request: Request) -> None:
    settings = request.app.state.settings
    host = request.client.host if request.client else ""
    if settings.metrics_loopback_open and is_loopback_host(host):
        return
    key = presented_key(request)
    if not key:
        raise Unauthorized(
            "/metrics needs an admin key from a non-loopback address",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = await request.app.state.bigshot.auth.resolve(key) if len(key) <= 200 else None
    if principal is None:
        await request.app.state.rate_limits.hit_failed_auth(host or "unknown")
        raise Unauthorized("invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    if not principal.is_admin:
        raise Forbidden("/metrics needs an admin key")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "metrics", None)
    if registry is None or not request.app.state.settings.metrics_enabled:
        raise NotFound("metrics are turned off (BIGSHOT_METRICS=false)")
    await _allowed(request)
    catalog = getattr(getattr(request.app.state, "llm", None), "catalog", None)
    if catalog is not None:
        registry.sync_cache(catalog.hits, catalog.misses)
    for use in ("rate_limits", "stream_slots"):
        errors = getattr(getattr(request.app.state, use, None), "storage_errors", 0)
        registry.sync_dependency_errors("redis", use, errors)
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)
