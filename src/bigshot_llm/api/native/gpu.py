"""Sharing GPUs under /api/v1/llm-providers: capacity, load presets and model downloads.

`GET /capacity` shows every admitted model's slots, use and queue (users see the providers
they can use). Presets and downloads change what a shared server holds: admins only.
"""

from __future__ import annotations

from fastapi import Path
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, CurrentUser, ProviderQuery, ResourcesDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.gpu import DownloadJob, DownloadRequest, ModelCapacity
from bigshot_llm.schemas.model_ops import LoadOptions, PresetPublic
from bigshot_llm.services.providers import downloads

router = api_router("/api/v1/llm-providers", tags=["sharing GPUs"])

JobId = Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:\-]+$")


@router.get("/capacity", response_model=Envelope[list[ModelCapacity]])
async def capacity(principal: CurrentUser, resources: ResourcesDep) -> Response:
    """Slots, slots in use and queued requests per provider, model and instance"""
    admission = resources.admission
    if admission is None:
        return ok([])
    usable = {r.id for r in resources.registry.usable_by(principal)}
    return ok([ModelCapacity.model_validate(row) for row in admission.snapshot(usable)])


@router.get("/presets", response_model=Envelope[list[PresetPublic]])
async def list_presets(principal: AdminUser, resources: ResourcesDep) -> Response:
    """Every model's load preset (admins)"""
    return ok(await resources.presets.list())


@router.put("/presets/{model:path}", response_model=Envelope[PresetPublic])
async def put_preset(
    model: str,
    body: LoadOptions,
    principal: AdminUser,
    resources: ResourcesDep,
    provider: ProviderQuery = None,
) -> Response:
    """Set the options the gateway loads `model` with (one provider with `?provider=`)"""
    provider_id = resources.router.resolve(principal, provider).record.id if provider else None
    return ok(await resources.presets.put(model, provider_id, body))


@router.delete("/presets/{model:path}", status_code=204)
async def delete_preset(
    model: str, principal: AdminUser, resources: ResourcesDep, provider: ProviderQuery = None
) -> Response:
    """Remove a model's preset"""
    provider_id = resources.router.resolve(principal, provider).record.id if provider else None
    await resources.presets.delete(model, provider_id)
    return Response(status_code=204)


@router.post("/models/{model:path}/download", response_model=Envelope[DownloadJob])
async def download_model(
    model: str,
    principal: AdminUser,
    resources: ResourcesDep,
    provider: ProviderQuery = None,
    body: DownloadRequest | None = None,
) -> Response:
    """Start downloading a model onto the LM Studio server (admins)"""
    target = resources.router.resolve(principal, provider)
    return ok(await downloads.start(target, model, (body or DownloadRequest()).quantization))


@router.get("/downloads/{job_id}", response_model=Envelope[DownloadJob])
async def download_status(
    principal: AdminUser,
    resources: ResourcesDep,
    job_id: str = JobId,
    provider: ProviderQuery = None,
) -> Response:
    """A download job's progress (admins)"""
    target = resources.router.resolve(principal, provider)
    return ok(await downloads.status(target, job_id))
