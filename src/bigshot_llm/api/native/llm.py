"""The native LLM endpoints under /api/v1/llm-providers: models, completions, chat, embeddings.

Streaming answers are `text/event-stream` with events `reasoning` `{"text"}` (the model's
thinking, before the answer), `delta` `{"text"}`, `tool_call` `{index, id, type, name,
arguments}` (one per call, its arguments assembled), a final `done` (finish_reason, usage,
usage_estimated, reasoning_tokens, stats, model; `parsed`/`parse_error` for a strict
json_schema) or a final `error` `{"code","message"}`, each with an increasing `id` (see
`schemas.events`). What did not stop a request but changed it (a `reasoning_effort` the
model cannot take) is reported in `X-Bigshot-Warning`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from starlette.responses import Response

from bigshot_llm.api import generate
from bigshot_llm.api.deps import (
    CurrentUser,
    HotCall,
    HotCallDep,
    ProviderQuery,
    ResourcesDep,
    apply_rate_limit,
)
from bigshot_llm.api.fast_path import hot
from bigshot_llm.api.native.encoder import NATIVE_FAREWELL, native_events
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.events import NATIVE_STREAM_DOC
from bigshot_llm.schemas.llm import (
    AllModelsAnswer,
    ChatAnswer,
    ChatRequest,
    CompletionAnswer,
    CompletionRequest,
    EmbeddingAnswer,
    EmbeddingRequest,
    GenerationParams,
    ModelListAnswer,
)
from bigshot_llm.services.generation import shapes
from bigshot_llm.services.generation.service import Operation

router = api_router("/api/v1/llm-providers", tags=["llm"])


@hot
@router.get("/models", response_model=Envelope[ModelListAnswer])
async def list_models(
    call: HotCallDep,
    provider: ProviderQuery = None,
    detailed: bool = Query(False, description="type, arch, state, context length, quantization"),
    refresh: bool = Query(False, description="bypass the 5-minute cache"),
) -> Response:
    """Models of a provider"""
    resources = call.resources
    target = resources.router.resolve(call.principal, provider)
    listing = await resources.router.models(target, detailed=detailed, refresh=refresh)
    answer = ModelListAnswer(
        models=listing.models,
        provider=target.record.summary(),
        cached=listing.cached,
        stale=listing.stale,
        fetched_at=listing.fetched_at,
        error=listing.error,
        aliases=resources.router.listed_aliases(call.principal),
    )
    return ok(answer)


@router.get("/models/all", response_model=Envelope[AllModelsAnswer])
async def list_all_models(
    request: Request,
    principal: CurrentUser,
    resources: ResourcesDep,
    detailed: bool = Query(False),
    refresh: bool = Query(False, description="ask every provider now: costs one request each"),
) -> Response:
    """Models of every provider you can use, each with its status"""
    router_ = resources.router
    if refresh:
        # One upstream request per provider: each counts against the caller's limit (the
        # route's own request already counted once).
        asked = len([r for r in router_.registry.usable_by(principal) if r.enabled])
        if asked > 1:
            await apply_rate_limit(request, principal, resources, cost=asked - 1)
    entries = await router_.models_all(principal, detailed=detailed, refresh=refresh)
    return ok(AllModelsAnswer.model_validate({"providers": entries}))


async def _generate(
    call: HotCall,
    params: GenerationParams,
    provider: str | None,
    operation: Operation,
    prompt: dict[str, Any],
) -> Response:
    """Completions and chat: the same path but for the prompt's shape and the answer's."""
    request = generate.request(
        call,
        operation,
        {**prompt, **params.upstream_params()},
        model=params.model,
        provider=params.provider or provider,
        steered=True,
    )
    if not params.stream:
        answer = await generate.one_shot(call, request)
        if operation == "chat":
            result = shapes.chat_answer(
                answer.result,
                split_think_tags=answer.target.record.splits_think_tags,
                response_format=prompt.get("response_format"),
            )
        else:
            result = shapes.completion_answer(answer.result)
        return ok(result, headers=generate.answer_headers(request, answer))
    generation = await generate.started(call, request)
    return generate.sse(call, generation, native_events(aiter(generation)), NATIVE_FAREWELL)


@hot
@router.post("/completions", response_model=Envelope[CompletionAnswer], responses=NATIVE_STREAM_DOC)
async def completions(
    body: CompletionRequest, call: HotCallDep, provider: ProviderQuery = None
) -> Response:
    """Text completion (stream with `stream: true`)"""
    return await _generate(call, body, provider, "completion", {"prompt": body.prompt})


@hot
@router.post("/chat/completions", response_model=Envelope[ChatAnswer], responses=NATIVE_STREAM_DOC)
async def chat_completions(
    body: ChatRequest, call: HotCallDep, provider: ProviderQuery = None
) -> Response:
    """Chat completion (stream with `stream: true`)"""
    messages = [m.upstream() for m in body.messages]
    prompt = {"messages": messages, **body.chat_options()}
    return await _generate(call, body, provider, "chat", prompt)


@hot
@router.post("/embeddings", response_model=Envelope[EmbeddingAnswer])
async def embeddings(
    body: EmbeddingRequest, call: HotCallDep, provider: ProviderQuery = None
) -> Response:
    """Embeddings"""
    request = generate.request(
        call,
        "embeddings",
        {"input": body.input},
        model=body.model,
        provider=body.provider or provider,
    )
    return ok(shapes.embedding_answer((await generate.one_shot(call, request)).result))
