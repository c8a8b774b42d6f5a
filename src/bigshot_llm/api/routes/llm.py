"""The native LLM endpoints under /api/v1/llm-providers: models, completions, chat, embeddings.

Streaming answers are `text/event-stream` with events `delta` `{"text"}`, a final `done`
(finish_reason, usage, usage_estimated, stats, model) or a final `error` `{"code","message"}`,
each with an increasing `id`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser
from bigshot_llm.api.limits import stream_limit
from bigshot_llm.api.metering import metered_call, metered_stream
from bigshot_llm.api.responses import dumps, ok
from bigshot_llm.api.streaming import (
    NATIVE_FAREWELL,
    prefetch,
    sse_response,
    until_disconnected,
)
from bigshot_llm.errors import GatewayError
from bigshot_llm.llm_schemas import (
    ChatAnswer,
    ChatRequest,
    CompletionAnswer,
    CompletionRequest,
    EmbeddingAnswer,
    EmbeddingRequest,
    GenerationParams,
    ModelListAnswer,
)
from bigshot_llm.providers.base import StreamChunk
from bigshot_llm.schemas import Envelope
from bigshot_llm.services import generation_shapes as shapes
from bigshot_llm.services.auth import Principal
from bigshot_llm.services.llm import LLMService, Target
from bigshot_llm.services.stream_slots import StreamSlots
from bigshot_llm.services.stream_stats import StreamStats, TextOf

router = APIRouter(prefix="/api/v1/llm-providers", tags=["llm"])

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON envelope, or with `stream: true` a `text/event-stream` of "
        "`delta`, then `done` or `error` events.",
        "content": {
            "text/event-stream": {
                "example": 'id: 1\nevent: delta\ndata: {"text":"Hello"}\n\n'
                'id: 2\nevent: done\ndata: {"finish_reason":"stop","usage":{...},'
                '"usage_estimated":false,"stats":{"ttft_ms":120.0,"duration_ms":900.0,'
                '"tokens_per_second":35.2},"model":"qwen2.5-7b-instruct"}\n\n'
            }
        },
    }
}


async def get_llm(request: Request) -> LLMService:
    return request.app.state.llm  # type: ignore[no-any-return]


LLMDep = Annotated[LLMService, Depends(get_llm)]
ProviderQuery = Annotated[
    str | None, Query(max_length=100, description="provider id or name; default: active")
]


def listing_payload(target: Target, listing: Any) -> dict[str, Any]:
    return {
        "models": listing.models,
        "provider": target.record.summary(),
        "cached": listing.cached,
        "stale": listing.stale,
        "fetched_at": listing.fetched_at,
        "error": listing.error,
    }


@router.get("/models", response_model=Envelope[ModelListAnswer], summary="Models of a provider")
async def list_models(
    principal: CurrentUser,
    llm: LLMDep,
    provider: ProviderQuery = None,
    detailed: bool = Query(False, description="type, arch, state, context length, quantization"),
    refresh: bool = Query(False, description="bypass the 5-minute cache"),
) -> Response:
    target = llm.resolve(principal, provider)
    listing = await llm.models(target, detailed=detailed, refresh=refresh)
    return ok(listing_payload(target, listing))


@router.get("/models/all", summary="Models of every provider you can use, each with its status")
async def list_all_models(
    principal: CurrentUser,
    llm: LLMDep,
    detailed: bool = Query(False),
    refresh: bool = Query(False),
) -> Response:
    return ok({"providers": await llm.models_all(principal, detailed=detailed, refresh=refresh)})


async def native_events(
    chunks: AsyncIterator[StreamChunk], stats: StreamStats
) -> AsyncIterator[bytes]:
    """Upstream chunks → `delta` events, then `done` (or `error`), with increasing ids."""
    event_id = 0
    try:
        async for chunk in chunks:
            text = stats.observe(chunk.data)
            if text:
                event_id += 1
                yield b"id: %d\nevent: delta\ndata: %s\n\n" % (event_id, dumps({"text": text}))
        payload, name = stats.done_payload(), b"done"
    except GatewayError as exc:
        payload, name = exc.to_dict(), b"error"
    event_id += 1
    yield b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, name, dumps(payload))


_ANSWERS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], TextOf]] = {
    "chat": (shapes.chat_answer, shapes.chat_delta_text),
    "completion": (shapes.completion_answer, shapes.completion_delta_text),
}


async def generate(
    request: Request,
    llm: LLMService,
    principal: Principal,
    params: GenerationParams,
    provider: str | None,
    kind: str,
    prompt: dict[str, Any],
) -> Response:
    """Completions and chat: the same path but for the prompt's shape and the answer's."""
    target = llm.resolve(principal, params.provider or provider)
    body = {"model": await llm.pick_model(target, params.model), **prompt}
    body.update(params.upstream_params())
    answer, text_of = _ANSWERS[kind]
    chat = kind == "chat"
    if not params.stream:
        call = llm.chat(target, body) if chat else llm.complete(target, body)
        watched = until_disconnected(request, call)
        return ok(answer(await metered_call(request, target, body["model"], watched)))
    body["stream_options"] = {"include_usage": True}
    stats = StreamStats(prompt_estimate=shapes.estimate_prompt_tokens(body), text_of=text_of)
    slots = request.app.state.stream_slots
    slot = await slots.acquire(principal.key_id, stream_limit(request, principal))
    try:
        chunks = llm.stream_chat(target, body) if chat else llm.stream_complete(target, body)
        relay = await prefetch(metered_stream(request, target, body["model"], chunks, stats))
    except BaseException:
        await slots.release(slot)
        raise
    settings = request.app.state.settings
    events = release_when_done(native_events(relay, stats), slots, slot)
    return sse_response(
        events, settings.sse_ping_seconds, request=request, farewell=NATIVE_FAREWELL
    )


async def release_when_done(
    events: AsyncIterator[bytes], slots: StreamSlots, slot: str | None
) -> AsyncIterator[bytes]:
    """Relay `events`, giving the stream slot back however the stream ends."""
    try:
        async for event in events:
            yield event
    finally:
        await slots.release(slot)


@router.post(
    "/completions",
    response_model=Envelope[CompletionAnswer],
    responses=STREAM_DOC,
    summary="Text completion (stream with `stream: true`)",
)
async def completions(
    body: CompletionRequest,
    request: Request,
    principal: CurrentUser,
    llm: LLMDep,
    provider: ProviderQuery = None,
) -> Response:
    return await generate(
        request, llm, principal, body, provider, "completion", {"prompt": body.prompt}
    )


@router.post(
    "/chat/completions",
    response_model=Envelope[ChatAnswer],
    responses=STREAM_DOC,
    summary="Chat completion (stream with `stream: true`)",
)
async def chat_completions(
    body: ChatRequest,
    request: Request,
    principal: CurrentUser,
    llm: LLMDep,
    provider: ProviderQuery = None,
) -> Response:
    messages = [m.model_dump() for m in body.messages]
    return await generate(request, llm, principal, body, provider, "chat", {"messages": messages})


@router.post("/embeddings", response_model=Envelope[EmbeddingAnswer], summary="Embeddings")
async def embeddings(
    body: EmbeddingRequest,
    request: Request,
    principal: CurrentUser,
    llm: LLMDep,
    provider: ProviderQuery = None,
) -> Response:
    target = llm.resolve(principal, body.provider or provider)
    model = await llm.pick_model(target, body.model, embeddings=True)
    call = until_disconnected(request, llm.embed(target, {"model": model, "input": body.input}))
    result = await metered_call(request, target, model, call)
    return ok(shapes.embedding_answer(result))
