"""Webhooks (admins): register receivers of gateway events, see and test their deliveries.

The signing secret is shown once, in the answer that creates it (or rotates it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.base import Deleted, Envelope, Page
from bigshot_llm.schemas.webhooks import (
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from bigshot_llm.services.webhooks.hooks import WebhookService, delivery_public, hook_public

router = api_router("/api/v1/webhooks", tags=["webhooks"])


def _service(session: SessionDep, resources: ResourcesDep) -> WebhookService:
    allowed = resources.settings.allowed_upstream_host_set
    return WebhookService(session, resources.box, allowed_hosts=allowed)


Hooks = Annotated[WebhookService, Depends(_service)]


@router.post("", status_code=201, response_model=Envelope[WebhookWithSecret])
async def create_webhook(body: WebhookCreate, principal: AdminUser, hooks: Hooks) -> Response:
    """Register a webhook (the secret is shown once)"""
    return ok(await hooks.create(principal, body), status_code=201)


@router.get("", response_model=Envelope[list[WebhookPublic]])
async def list_webhooks(_: AdminUser, hooks: Hooks) -> Response:
    """List webhooks"""
    return ok(await hooks.listed())


@router.get("/{webhook_id}", response_model=Envelope[WebhookPublic])
async def get_webhook(webhook_id: str, _: AdminUser, hooks: Hooks) -> Response:
    """One webhook"""
    return ok(hook_public(await hooks.get(webhook_id)))


@router.patch("/{webhook_id}", response_model=Envelope[WebhookWithSecret | WebhookPublic])
async def update_webhook(
    webhook_id: str, body: WebhookUpdate, principal: AdminUser, hooks: Hooks
) -> Response:
    """Change a webhook (or rotate its secret: then the answer shows it once)"""
    return ok(await hooks.update(principal, webhook_id, body))


@router.delete("/{webhook_id}", response_model=Envelope[Deleted])
async def delete_webhook(webhook_id: str, principal: AdminUser, hooks: Hooks) -> Response:
    """Delete a webhook and its deliveries"""
    await hooks.delete(principal, webhook_id)
    return ok(Deleted(id=webhook_id))


@router.get("/{webhook_id}/deliveries", response_model=Envelope[Page[DeliveryPublic]])
async def list_deliveries(
    webhook_id: str,
    _: AdminUser,
    hooks: Hooks,
    status: str | None = Query(None, pattern="^(pending|delivered|failed)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    """A webhook's deliveries, newest first"""
    return ok(await hooks.deliveries(webhook_id, status=status, limit=limit, offset=offset))


@router.post("/{webhook_id}/test", response_model=Envelope[DeliveryPublic])
async def test_webhook(
    webhook_id: str, _: AdminUser, hooks: Hooks, resources: ResourcesDep
) -> Response:
    """Send a signed `webhook.test` event now"""
    delivery = await resources.webhooks.send_test(await hooks.get(webhook_id))
    return ok(delivery_public(delivery))
