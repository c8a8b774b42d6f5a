"""Model comparison under /api/v1/compare: one prompt streamed to 2–4 targets side by side,
and the stored comparisons (private to their owner)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser
from bigshot_llm.api.limits import stream_limit
from bigshot_llm.api.responses import ok
from bigshot_llm.api.streaming import NATIVE_FAREWELL, sse_response
from bigshot_llm.model_ops_schemas import CompareRequest, ComparisonPublic, ComparisonSummary
from bigshot_llm.schemas import Envelope, Page
from bigshot_llm.services.compare import CompareService

router = APIRouter(prefix="/api/v1/compare", tags=["comparison"])

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A `text/event-stream`: `start`, then `delta` / `done` / `error` events "
        "each naming its `target` index, then `end`.",
        "content": {
            "text/event-stream": {
                "example": 'id: 1\nevent: start\ndata: {"id":"…","targets":[…]}\n\n'
                'id: 2\nevent: delta\ndata: {"target":0,"text":"Hello"}\n\n'
                'id: 3\nevent: done\ndata: {"target":0,"finish_reason":"stop","usage":{…},'
                '"usage_estimated":false,"stats":{"ttft_ms":120.0,"duration_ms":900.0,'
                '"tokens_per_second":35.2},"model":"qwen2.5-7b-instruct"}\n\n'
                'id: 4\nevent: error\ndata: {"target":1,"code":"provider_unavailable",'
                '"message":"…"}\n\nid: 5\nevent: end\ndata: {"id":"…","status":"complete"}\n\n'
            }
        },
    }
}


async def get_compare(request: Request) -> CompareService:
    return request.app.state.compare  # type: ignore[no-any-return]


CompareDep = Annotated[CompareService, Depends(get_compare)]


@router.post("", responses=STREAM_DOC, summary="Compare 2–4 provider/model targets (SSE)")
async def compare(
    body: CompareRequest, request: Request, principal: CurrentUser, service: CompareDep
) -> Response:
    # One stream slot for the whole comparison, like one native stream.
    slots = request.app.state.stream_slots
    slot = await slots.acquire(principal.key_id, stream_limit(request, principal))

    async def release() -> None:
        await slots.release(slot)

    try:
        events = await service.start(principal, body, release)
    except BaseException:
        await release()
        raise
    return sse_response(
        events,
        request.app.state.settings.sse_ping_seconds,
        request=request,
        farewell=NATIVE_FAREWELL,
    )


@router.get(
    "", response_model=Envelope[Page[ComparisonSummary]], summary="Your comparisons, newest first"
)
async def list_comparisons(
    principal: CurrentUser,
    service: CompareDep,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    items, total = await service.list_own(principal, limit=limit, offset=offset)
    return ok({"items": items, "total": total, "limit": limit, "offset": offset})


@router.get(
    "/{comparison_id}",
    response_model=Envelope[ComparisonPublic],
    summary="One of your comparisons with every target's text and stats",
)
async def get_comparison(
    comparison_id: str, principal: CurrentUser, service: CompareDep
) -> Response:
    return ok(await service.get_own(principal, comparison_id))
