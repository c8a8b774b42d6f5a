"""Model operations under /api/v1/llm-providers: load and unload a model, and the provider kinds.

Model ids may contain `/` (`publisher/model`), so the model is a path parameter ending in
`/load` or `/unload`; these routes are POST-only and cannot shadow `GET /models` or
`GET /models/all`.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routes.llm import LLMDep, ProviderQuery
from bigshot_llm.model_ops_schemas import LoadRequest, ModelOpAnswer, ProviderKindPublic
from bigshot_llm.providers.registry import available_kinds, provider_class
from bigshot_llm.schemas import Envelope
from bigshot_llm.services.llm import LLMService
from bigshot_llm.services.model_ops import ModelOps, Notify, supports_loading

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/llm-providers", tags=["model operations"])

BUILTIN_DESCRIPTIONS = {
    "lmstudio": "LM Studio: OpenAI-compatible /v1 plus native model listing, load and unload",
    "openai": "OpenAI's API",
    "openai_compatible": "any OpenAI-compatible server (vLLM, llama.cpp server, Ollama's /v1…)",
}


def webhook_notifier(request: Request) -> Notify | None:
    """The webhook dispatcher's `emit` when the app runs one, else None (no webhooks)."""
    dispatcher = getattr(request.app.state, "webhooks", None)
    emit = getattr(dispatcher, "emit", None)
    if not callable(emit):
        return None

    async def notify(event: str, payload: dict[str, Any]) -> None:
        await emit(event, payload)

    return notify


def _ops(request: Request, llm: LLMService, session: AsyncSession) -> ModelOps:
    return ModelOps(llm, session, webhook_notifier(request))


@router.get(
    "/kinds",
    response_model=Envelope[list[ProviderKindPublic]],
    summary="Provider kinds: the built-ins and installed plugins",
)
async def list_kinds(principal: CurrentUser) -> Response:
    kinds = []
    for kind in available_kinds():
        try:
            cls: type | None = provider_class(kind)
        except ValueError:  # a broken plugin is listed, not fatal
            cls = None
        doc = (inspect.getdoc(cls) or "").strip().splitlines() if cls else []
        description = BUILTIN_DESCRIPTIONS.get(kind) or (doc[0] if doc else "plugin provider")
        if cls is None:
            description = "plugin provider (failed to load)"
        kinds.append(
            {
                "kind": kind,
                "description": description,
                "builtin": kind in BUILTIN_DESCRIPTIONS,
                "supports_load": cls is not None and supports_loading(cls),
            }
        )
    return ok(kinds)


@router.post(
    "/models/{model:path}/load",
    response_model=Envelope[ModelOpAnswer],
    summary="Load a model into the provider's memory (LM Studio)",
    description="Admins on any provider, users on their own. With the provider's "
    "`exclusive_loading` the other loaded LLMs are unloaded first. Kinds that cannot load "
    "models answer 409 `not_supported`.",
)
async def load_model(
    model: str,
    request: Request,
    principal: CurrentUser,
    llm: LLMDep,
    session: SessionDep,
    provider: ProviderQuery = None,
    body: LoadRequest | None = None,
) -> Response:
    target = llm.resolve(principal, provider)
    options = body or LoadRequest()
    result = await _ops(request, llm, session).load(
        principal, target, model, context_length=options.context_length
    )
    return ok(result)


@router.post(
    "/models/{model:path}/unload",
    response_model=Envelope[ModelOpAnswer],
    summary="Unload every loaded instance of a model (LM Studio)",
)
async def unload_model(
    model: str,
    request: Request,
    principal: CurrentUser,
    llm: LLMDep,
    session: SessionDep,
    provider: ProviderQuery = None,
) -> Response:
    target = llm.resolve(principal, provider)
    result = await _ops(request, llm, session).unload(principal, target, model)
    return ok(result)
