"""Liveness and readiness probes.

`/ready` answers within `READY_TIMEOUT_SECONDS` whatever the database does: a load balancer or
kubelet probing a gateway whose database is blackholed must hear "not ready" in time, not
time out itself.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.responses import Response

from bigshot_llm import __version__
from bigshot_llm.api.deps import ResourcesDep
from bigshot_llm.api.responses import error_envelope, ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.errors import ServiceUnavailable
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.health import Health, Ready

router = api_router(tags=["health"])

READY_TIMEOUT_SECONDS = 1.5


@router.get("/health", response_model=Envelope[Health])
async def health() -> Response:
    """Process alive"""
    return ok(Health(version=__version__))


@router.get("/ready", response_model=Envelope[Ready])
async def ready(resources: ResourcesDep) -> Response:
    """Database reachable (within READY_TIMEOUT_SECONDS)"""

    async def probe() -> None:
        async with resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        return error_envelope(
            ServiceUnavailable(f"database unreachable: no answer in {READY_TIMEOUT_SECONDS} s")
        )
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        return error_envelope(ServiceUnavailable(f"database unreachable: {type(exc).__name__}"))
    return ok(Ready(version=__version__))
