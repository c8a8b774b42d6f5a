"""Model operations under /api/v1/llm-providers: load and unload a model, and the provider kinds.

Model ids may contain `/` (`publisher/model`), so the model is a path parameter ending in
`/load` or `/unload`; these routes are POST-only and cannot shadow `GET /models` or
`GET /models/all`.
"""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, ProviderQuery, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.resources import Resources
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.model_ops import LoadRequest, ModelOpAnswer
from bigshot_llm.schemas.providers import ProviderKindPublic
from bigshot_llm.services.providers.lifecycle import ModelOps, provider_kinds

log = logging.getLogger(__name__)

router = api_router("/api/v1/llm-providers", tags=["model operations"])


def _ops(resources: Resources, session: AsyncSession) -> ModelOps:
    return ModelOps(
        resources.router,
        session,
        resources.webhooks.emit,
        presets=resources.presets.lookup,
        loaded=resources.idle_models.loaded_by_gateway,
    )


@router.get("/kinds", response_model=Envelope[list[ProviderKindPublic]])
async def list_kinds(principal: CurrentUser) -> Response:
    """Provider kinds: the built-ins and installed plugins"""
    return ok(provider_kinds())


@router.post(
    "/models/{model:path}/load",
    response_model=Envelope[ModelOpAnswer],
    description="Admins on any provider, users on their own. Takes every option of LM "
    "Studio's `/api/v1/models/load`; the model's preset (`PUT /presets/{model}`) fills in "
    "what the body leaves unset. With the provider's `exclusive_loading` the other loaded "
    "LLMs are unloaded first. Kinds that cannot load models answer 409 `not_supported`.",
)
async def load_model(
    model: str,
    principal: CurrentUser,
    resources: ResourcesDep,
    session: SessionDep,
    provider: ProviderQuery = None,
    body: LoadRequest | None = None,
) -> Response:
    """Load a model into the provider's memory (LM Studio)"""
    target = resources.router.resolve(principal, provider)
    options = body or LoadRequest()
    result = await _ops(resources, session).load(principal, target, model, options=options.given())
    return ok(result)


@router.post("/models/{model:path}/unload", response_model=Envelope[ModelOpAnswer])
async def unload_model(
    model: str,
    principal: CurrentUser,
    resources: ResourcesDep,
    session: SessionDep,
    provider: ProviderQuery = None,
) -> Response:
    """Unload every loaded instance of a model (LM Studio)"""
    target = resources.router.resolve(principal, provider)
    result = await _ops(resources, session).unload(principal, target, model)
    return ok(result)
