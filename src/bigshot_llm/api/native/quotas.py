"""Quotas under /api/v1/llm-providers: admins set them on users and keys (README "Quotas");
every caller sees their own and what is used of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, CurrentUser, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.quotas import QuotaCreate, QuotaPublic, QuotaUpdate, QuotaUsage
from bigshot_llm.services.quotas.admin import QuotaAdmin, own_usage

router = api_router("/api/v1/llm-providers", tags=["quotas"])

QuotaId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]


def _admin(session: SessionDep, resources: ResourcesDep) -> QuotaAdmin:
    return QuotaAdmin(session, resources.auth, resources.quotas)


Quotas = Annotated[QuotaAdmin, Depends(_admin)]


@router.get("/quotas", response_model=Envelope[list[QuotaPublic]])
async def list_quotas(_: AdminUser, quotas: Quotas) -> Response:
    """Every quota with this period's use (admins)"""
    return ok(await quotas.listed())


@router.post("/quotas", status_code=201, response_model=Envelope[QuotaPublic])
async def create_quota(body: QuotaCreate, principal: AdminUser, quotas: Quotas) -> Response:
    """Set a quota on a user or an API key (admins)

    One quota per subject, metric and period; a second one is 409 `quota_exists`."""
    return ok(await quotas.create(principal, body), status_code=201)


@router.patch("/quotas/{quota_id}", response_model=Envelope[QuotaPublic])
async def update_quota(
    quota_id: QuotaId, body: QuotaUpdate, principal: AdminUser, quotas: Quotas
) -> Response:
    """Change a quota's limit (admins)"""
    return ok(await quotas.update(principal, quota_id, body))


@router.delete("/quotas/{quota_id}", response_model=Envelope[QuotaPublic])
async def delete_quota(quota_id: QuotaId, principal: AdminUser, quotas: Quotas) -> Response:
    """Remove a quota (admins)"""
    return ok(await quotas.delete(principal, quota_id))


@router.get("/quota-usage", response_model=Envelope[list[QuotaUsage]])
async def my_quota_usage(principal: CurrentUser, resources: ResourcesDep) -> Response:
    """The caller's quotas (their user's and their key's) and what is used of them"""
    return ok(await own_usage(resources.quotas, principal))
