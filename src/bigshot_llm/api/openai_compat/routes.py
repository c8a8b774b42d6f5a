"""The OpenAI-compatible endpoints under ``/v1``: a drop-in base URL for the `openai` SDK.

Requests are validated with the models in `schemas`, then the client's own JSON goes to the
provider through `LLMService`, the code path the native API uses; answers are upstream's
OpenAI JSON, passed through. `provider-name/model-id` picks a provider (see
`services.model_routing`); a bare id goes to the caller's active provider.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser
from bigshot_llm.api.limits import stream_limit
from bigshot_llm.api.metering import metered_call, metered_stream
from bigshot_llm.api.openai_compat.relay import encode_embeddings_base64, openai_events
from bigshot_llm.api.openai_compat.schemas import (
    OpenAIChatRequest,
    OpenAICompletionRequest,
    OpenAIEmbeddingRequest,
    OpenAISamplingParams,
)
from bigshot_llm.api.routes.llm import LLMDep, release_when_done
from bigshot_llm.api.streaming import prefetch, sse_response, until_disconnected
from bigshot_llm.errors import ModelNotFound
from bigshot_llm.services import generation_shapes as shapes
from bigshot_llm.services.auth import Principal
from bigshot_llm.services.llm import LLMService
from bigshot_llm.services.model_routing import qualified_id, route_model
from bigshot_llm.services.provider_registry import ProviderRecord
from bigshot_llm.services.stream_stats import StreamStats

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "OpenAI's JSON, or with `stream: true` a `text/event-stream` of "
        "upstream's chunks ending with `data: [DONE]`.",
        "content": {"text/event-stream": {"example": 'data: {"choices":[...]}\n\n'}},
    }
}
# Providers that only know `max_tokens` get `max_completion_tokens` translated.
_KNOWS_MAX_COMPLETION_TOKENS = frozenset({"openai"})
# What a stream still open at the shutdown deadline ends with (see `api.shutdown`).
OPENAI_FAREWELL = (
    b'data: {"error":{"message":"the gateway is restarting; send the request again",'
    b'"type":"server_error","param":null,"code":"gateway_shutdown"}}\n\ndata: [DONE]\n\n'
)


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def _model_entry(model_id: str, record: ProviderRecord | None, owner: str) -> dict[str, Any]:
    created = int(record.created_at.timestamp()) if record is not None else 0
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}


@router.get("/models", summary="Every model you can use (OpenAI list)")
async def list_models(principal: CurrentUser, llm: LLMDep) -> Response:
    """Bare ids for your active provider, then `provider-name/model-id` for every provider.

    A provider that cannot be reached is left out; it never fails the list.
    """
    active = llm.registry.active_for(principal)
    bare: list[dict[str, Any]] = []
    qualified: list[dict[str, Any]] = []
    for entry in await llm.models_all(principal, detailed=False):
        if entry["status"] == "unavailable":
            continue
        record = llm.registry.get(entry["provider"]["id"])
        name = entry["provider"]["name"]
        is_active = active is not None and active.id == entry["provider"]["id"]
        for model in entry["models"]:
            if is_active:
                bare.append(_model_entry(model["id"], record, name))
            qualified.append(_model_entry(qualified_id(name, model["id"]), record, name))
    return _json({"object": "list", "data": bare + qualified})


@router.get("/models/{model_id:path}", summary="One model (OpenAI shape)")
async def retrieve_model(model_id: str, principal: CurrentUser, llm: LLMDep) -> Response:
    routed = route_model(llm, principal, model_id)
    listing = await llm.models(routed.target, detailed=False)
    if routed.model not in listing.ids():
        raise ModelNotFound(f"The model '{model_id}' does not exist", param="model")
    record = routed.target.record
    return _json(_model_entry(model_id, record, record.name))


def _adapt_token_limit(raw: dict[str, Any], kind: str) -> None:
    """`max_completion_tokens` → `max_tokens` for upstreams that only know the latter."""
    if kind in _KNOWS_MAX_COMPLETION_TOKENS or "max_completion_tokens" not in raw:
        return
    limit = raw.pop("max_completion_tokens")
    if limit is None:
        return
    current = raw.get("max_tokens")
    raw["max_tokens"] = limit if current is None else min(limit, current)


async def _generate(
    request: Request,
    llm: LLMService,
    principal: Principal,
    params: OpenAISamplingParams,
    kind: Literal["chat", "completion"],
) -> Response:
    # FastAPI keeps the parsed body: forwarding it (not a model dump) keeps unknown fields
    # exactly as sent and costs no copy.
    raw: dict[str, Any] = await request.json()
    routed = route_model(llm, principal, params.model)
    target = routed.target
    raw["model"] = await llm.pick_model(target, routed.model)
    _adapt_token_limit(raw, target.record.kind)
    chat = kind == "chat"
    if not params.stream:
        call = llm.chat(target, raw) if chat else llm.complete(target, raw)
        watched = until_disconnected(request, call)
        return _json(await metered_call(request, target, raw["model"], watched))
    # Always ask for usage (our statistics); the relay forwards it only if the client asked.
    raw["stream_options"] = {**(raw.get("stream_options") or {}), "include_usage": True}
    stats = StreamStats(
        prompt_estimate=0,  # estimated only if upstream reports no usage
        text_of=shapes.chat_delta_text if chat else shapes.completion_delta_text,
    )
    slots = request.app.state.stream_slots
    slot = await slots.acquire(principal.key_id, stream_limit(request, principal))
    try:
        chunks = llm.stream_chat(target, raw) if chat else llm.stream_complete(target, raw)
        chunks = metered_stream(
            request, target, raw["model"], chunks, stats, lambda: shapes.estimate_prompt_tokens(raw)
        )
        relay = await prefetch(chunks)
    except BaseException:
        await slots.release(slot)
        raise
    events = openai_events(
        relay,
        stats,
        include_usage=params.include_usage,
        prompt_estimate=lambda: shapes.estimate_prompt_tokens(raw),
    )
    return sse_response(
        release_when_done(events, slots, slot),
        request.app.state.settings.sse_ping_seconds,
        request=request,
        farewell=OPENAI_FAREWELL,
    )


@router.post("/chat/completions", responses=STREAM_DOC, summary="Chat completion (OpenAI)")
async def chat_completions(
    body: OpenAIChatRequest, request: Request, principal: CurrentUser, llm: LLMDep
) -> Response:
    return await _generate(request, llm, principal, body, "chat")


@router.post("/completions", responses=STREAM_DOC, summary="Text completion (OpenAI, legacy)")
async def completions(
    body: OpenAICompletionRequest, request: Request, principal: CurrentUser, llm: LLMDep
) -> Response:
    return await _generate(request, llm, principal, body, "completion")


@router.post("/embeddings", summary="Embeddings (OpenAI; `encoding_format` float or base64)")
async def embeddings(
    body: OpenAIEmbeddingRequest, request: Request, principal: CurrentUser, llm: LLMDep
) -> Response:
    raw: dict[str, Any] = await request.json()
    routed = route_model(llm, principal, body.model)
    raw["model"] = await llm.pick_model(routed.target, routed.model, embeddings=True)
    call = until_disconnected(request, llm.embed(routed.target, raw))
    result = await metered_call(request, routed.target, raw["model"], call)
    if body.encoding_format == "base64":
        encode_embeddings_base64(result)
    return _json(result)
