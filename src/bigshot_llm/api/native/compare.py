"""Model comparison under /api/v1/compare: one prompt streamed to 2–4 targets side by side,
and the stored comparisons (private to their owner)."""

from __future__ import annotations

from fastapi import Query
from starlette.responses import Response

from bigshot_llm.api.deps import CompareDep, CurrentUser, RateLimitedUser, ResourcesDep
from bigshot_llm.api.native.encoder import NATIVE_FAREWELL
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.api.streaming import sse_response
from bigshot_llm.schemas.base import Envelope, Page
from bigshot_llm.schemas.compare import CompareRequest, ComparisonPublic, ComparisonSummary
from bigshot_llm.schemas.events import COMPARE_STREAM_DOC

router = api_router("/api/v1/compare", tags=["comparison"])


@router.post("", responses=COMPARE_STREAM_DOC)
async def compare(
    body: CompareRequest, principal: RateLimitedUser, service: CompareDep, resources: ResourcesDep
) -> Response:
    """Compare 2–4 provider/model targets (SSE)"""
    # One stream slot for the whole comparison, like one native stream.
    slots = resources.slots
    slot = await slots.acquire(principal)

    async def release() -> None:
        await slots.release(slot)

    try:
        events = await service.start(principal, body, release)
    except BaseException:
        await release()
        raise
    return sse_response(
        events,
        resources.settings.sse_ping_seconds,
        notice=resources.shutdown,
        farewell=NATIVE_FAREWELL,
    )


@router.get("", response_model=Envelope[Page[ComparisonSummary]])
async def list_comparisons(
    principal: CurrentUser,
    service: CompareDep,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    """Your comparisons, newest first"""
    return ok(await service.list_own(principal, limit=limit, offset=offset))


@router.get("/{comparison_id}", response_model=Envelope[ComparisonPublic])
async def get_comparison(
    comparison_id: str, principal: CurrentUser, service: CompareDep
) -> Response:
    """One of your comparisons with every target's text and stats"""
    return ok(await service.get_own(principal, comparison_id))
