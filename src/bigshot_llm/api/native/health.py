"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import Response

from bigshot_llm import __version__
from bigshot_llm.api.deps import ResourcesDep
from bigshot_llm.api.responses import error_envelope, ok
from bigshot_llm.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


@router.get("/health", summary="Process alive")
async def health() -> Response:
    return ok({"status": "ok", "version": __version__})


@router.get("/ready", summary="Database reachable")
async def ready(resources: ResourcesDep) -> Response:
    try:
        async with resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        return error_envelope(ServiceUnavailable(f"database unreachable: {type(exc).__name__}"))
    return ok({"status": "ready", "version": __version__, "database": "ok"})
