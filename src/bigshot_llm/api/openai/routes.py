"""The OpenAI-compatible endpoints under ``/v1``: a drop-in base URL for the `openai` SDK.

Requests are validated with the models in `schemas.openai`, then the client's own JSON goes
to the provider through the generation pipeline, the code path every surface shares;
answers are upstream's OpenAI JSON, passed through. `provider-name/model-id` picks a
provider (see `services.generation.routing`); a bare id goes to the caller's active
provider.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bigshot_llm.api import generate
from bigshot_llm.api.deps import CurrentUser, HotCall, HotCallDep, RouterDep
from bigshot_llm.api.fast_path import hot
from bigshot_llm.api.openai.encoder import (
    OPENAI_FAREWELL,
    encode_embeddings_base64,
    openai_events,
)
from bigshot_llm.api.responses import plain_json
from bigshot_llm.api.routing import api_router
from bigshot_llm.errors import ModelNotFound
from bigshot_llm.schemas.aliases import AliasEntry
from bigshot_llm.schemas.events import OPENAI_STREAM_DOC
from bigshot_llm.schemas.openai import (
    OpenAIChatRequest,
    OpenAICompletionRequest,
    OpenAIEmbeddingRequest,
    OpenAISamplingParams,
)
from bigshot_llm.services.generation.routing import qualified_id
from bigshot_llm.services.generation.service import Operation
from bigshot_llm.services.generation.shapes import repair_chat_response
from bigshot_llm.services.providers.registry import ProviderRecord

router = api_router("/v1", tags=["openai-compatible"])


def _model_entry(model_id: str, record: ProviderRecord | None, owner: str) -> dict[str, Any]:
    created = int(record.created_at.timestamp()) if record is not None else 0
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}


def _anthropic_list(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The same list in Anthropic's shape (`anthropic` SDK's `models.list()`)."""
    data = [
        {
            "type": "model",
            "id": e["id"],
            "display_name": e["id"],
            "created_at": datetime.fromtimestamp(e["created"], UTC).isoformat(),
        }
        for e in entries
    ]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return {"data": data, "has_more": False, "first_id": first, "last_id": last}


def _alias_entry(entry: AliasEntry, record: ProviderRecord | None) -> dict[str, Any]:
    if entry.provider_name is None:  # from BIGSHOT_MODEL_ALIASES: the target as written
        return {**_model_entry(entry.name, None, "bigshot-alias"), "alias_for": entry.model}
    target = qualified_id(entry.provider_name, entry.model)
    return {**_model_entry(entry.name, record, entry.provider_name), "alias_for": target}


@router.get("/models")
async def list_models(request: Request, principal: CurrentUser, router_: RouterDep) -> Response:
    """Every model you can use (OpenAI list)

    Bare ids for your active provider, then `provider-name/model-id` for every provider,
    then the model aliases you can use (yours, the global ones, then `BIGSHOT_MODEL_ALIASES`),
    each with its `alias_for` and, for stored ones, the target provider as `owned_by`. With an
    `anthropic-version` header, in Anthropic's list shape.

    A provider that cannot be reached is left out; it never fails the list.
    """
    registry = router_.registry
    active = registry.active_for(principal)
    bare: list[dict[str, Any]] = []
    qualified: list[dict[str, Any]] = []
    for entry in await router_.models_all(principal, detailed=False):
        if entry["status"] == "unavailable":
            continue
        record = registry.get(entry["provider"]["id"])
        name = entry["provider"]["name"]
        is_active = active is not None and active.id == entry["provider"]["id"]
        for model in entry["models"]:
            if is_active:
                bare.append(_model_entry(model["id"], record, name))
            qualified.append(_model_entry(qualified_id(name, model["id"]), record, name))
    aliases = [
        _alias_entry(entry, registry.get(entry.provider_id or ""))
        for entry in router_.listed_aliases(principal)
    ]
    names = {entry["id"] for entry in aliases}
    # A model id an alias shadows is routed to the alias's target: listing it would mislead.
    bare = [e for e in bare if e["id"] not in names]
    qualified = [e for e in qualified if e["id"] not in names]
    if "anthropic-version" in request.headers:
        return plain_json(_anthropic_list(bare + qualified + aliases))
    return plain_json({"object": "list", "data": bare + qualified + aliases})


@router.get("/models/{model_id:path}")
async def retrieve_model(model_id: str, principal: CurrentUser, router_: RouterDep) -> Response:
    """One model (OpenAI shape)"""
    route = router_.route(principal, model_id)
    listing = await router_.models(route.target, detailed=False)
    if route.model not in listing.ids():
        raise ModelNotFound(f"The model '{model_id}' does not exist", param="model")
    record = route.target.record
    return plain_json(_model_entry(model_id, record, record.name))


async def _generate(call: HotCall, params: OpenAISamplingParams, operation: Operation) -> Response:
    # FastAPI keeps the parsed body: forwarding it (not a model dump) keeps unknown fields
    # exactly as sent and costs no copy.
    raw: dict[str, Any] = await call.request.json()
    request = generate.request(call, operation, raw, model=params.model, steered=True)
    chat = operation == "chat"
    if not params.stream:
        answer = await generate.one_shot(call, request)
        record = answer.target.record
        if chat and record.repair_v1:
            repair_chat_response(answer.result, split_think_tags=record.splits_think_tags)
        return plain_json(answer.result, generate.answer_headers(request, answer))
    generation = await generate.started(call, request)
    repair = chat and generation.target.record.repair_v1
    events = openai_events(aiter(generation), include_usage=params.include_usage, repair=repair)
    return generate.sse(call, generation, events, OPENAI_FAREWELL)


@hot
@router.post("/chat/completions", responses=OPENAI_STREAM_DOC)
async def chat_completions(body: OpenAIChatRequest, call: HotCallDep) -> Response:
    """Chat completion (OpenAI)"""
    return await _generate(call, body, "chat")


@hot
@router.post("/completions", responses=OPENAI_STREAM_DOC)
async def completions(body: OpenAICompletionRequest, call: HotCallDep) -> Response:
    """Text completion (OpenAI, legacy)"""
    return await _generate(call, body, "completion")


@hot
@router.post("/embeddings")
async def embeddings(body: OpenAIEmbeddingRequest, call: HotCallDep) -> Response:
    """Embeddings (OpenAI; `encoding_format` float or base64)"""
    raw: dict[str, Any] = await call.request.json()
    answer = await generate.one_shot(
        call, generate.request(call, "embeddings", raw, model=body.model)
    )
    result = answer.result
    if body.encoding_format == "base64":
        encode_embeddings_base64(result)
    return plain_json(result)
