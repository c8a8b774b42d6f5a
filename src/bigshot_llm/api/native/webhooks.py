"""Webhooks (admins): register receivers of gateway events, see and test their deliveries.

The signing secret is shown once, in the answer that creates it (or rotates it); it is stored
encrypted. Webhook URLs pass the SSRF guard (private hosts are fine for admins; link-local
and cloud-metadata addresses never are).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from bigshot_llm.api.deps import AdminUser, ResourcesDep, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.db.models import Webhook, WebhookDelivery, utcnow
from bigshot_llm.errors import NotFound, RequestValidationFailed
from bigshot_llm.schemas.base import Envelope, Page, Strict
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.url_guard import check_url
from bigshot_llm.services.webhooks import EVENTS, new_secret

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

Url = Annotated[str, Field(min_length=8, max_length=2048)]
Events = Annotated[list[str], Field(min_length=1, max_length=len(EVENTS))]
Threshold = Annotated[int | None, Field(ge=1, le=10**12)]


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


def _events(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - set(EVENTS))
    if unknown:
        raise ValueError(f"unknown events {unknown}; known: {', '.join(EVENTS)}")
    return sorted(set(value))


class WebhookCreate(Strict):
    url: Url
    events: Events
    description: str | None = Field(None, max_length=200)
    enabled: bool = True
    usage_threshold_tokens: Threshold = Field(
        None, description="for usage.threshold: tokens per key per UTC day"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str]) -> list[str]:
        return _events(value)


class WebhookUpdate(Strict):
    url: Url | None = None
    events: Events | None = None
    description: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    usage_threshold_tokens: Threshold = None
    rotate_secret: bool = Field(False, description="issue a new secret (shown once)")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _events(value)


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    usage_threshold_tokens: int | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(None, description="only when created or rotated: keep it")


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


def public(hook: Webhook, secret: str | None = None) -> dict[str, Any]:
    data = hook.model_dump(mode="json", exclude={"secret_encrypted"})
    if secret is not None:
        data["secret"] = secret
    return data


def _need_threshold(events: list[str], threshold: int | None) -> None:
    if "usage.threshold" in events and not threshold:
        raise RequestValidationFailed(
            "usage_threshold_tokens: needed for usage.threshold",
            details=[{"loc": ["body", "usage_threshold_tokens"], "msg": "needed"}],
        )


async def _get(session: AsyncSession, webhook_id: str) -> Webhook:
    hook = await session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound(f"webhook '{webhook_id}' not found")
    return hook


async def _guard(resources: ResourcesDep, url: str) -> None:
    await check_url(
        url,
        privileged=True,
        allowed_hosts=resources.settings.allowed_upstream_host_set,
        field="url",
    )


@router.post(
    "",
    status_code=201,
    response_model=Envelope[WebhookPublic],
    summary="Register a webhook (the secret is shown once)",
)
async def create_webhook(
    body: WebhookCreate, principal: AdminUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    _need_threshold(body.events, body.usage_threshold_tokens)
    await _guard(resources, body.url)
    secret = new_secret()
    hook = Webhook(
        **body.model_dump(),
        secret_encrypted=resources.box.encrypt(secret),
        created_by=principal.user_id,
    )
    session.add(hook)
    audit.record(session, principal, "webhook.create", "webhook", hook.id, after=public(hook))
    await session.commit()
    return ok(public(hook, secret), status_code=201)


@router.get("", response_model=Envelope[list[WebhookPublic]], summary="List webhooks")
async def list_webhooks(_: AdminUser, session: SessionDep) -> Response:
    hooks = (await session.exec(select(Webhook).order_by(col(Webhook.created_at)))).all()
    return ok([public(h) for h in hooks])


@router.get("/{webhook_id}", response_model=Envelope[WebhookPublic], summary="One webhook")
async def get_webhook(webhook_id: str, _: AdminUser, session: SessionDep) -> Response:
    return ok(public(await _get(session, webhook_id)))


@router.patch(
    "/{webhook_id}",
    response_model=Envelope[WebhookPublic],
    summary="Change a webhook (or rotate its secret)",
)
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    principal: AdminUser,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    hook = await _get(session, webhook_id)
    before = public(hook)
    changes = body.model_dump(exclude_unset=True, exclude={"rotate_secret"})
    for name in ("url", "events", "enabled"):
        if name in changes and changes[name] is None:
            raise RequestValidationFailed(
                f"'{name}' cannot be null", details=[{"loc": ["body", name], "msg": "not null"}]
            )
    if changes.get("url"):
        await _guard(resources, changes["url"])
    for name, value in changes.items():
        setattr(hook, name, value)
    _need_threshold(hook.events, hook.usage_threshold_tokens)
    secret = new_secret() if body.rotate_secret else None
    if secret is not None:
        hook.secret_encrypted = resources.box.encrypt(secret)
    hook.updated_at = utcnow()
    session.add(hook)
    audit.record(
        session, principal, "webhook.update", "webhook", hook.id, before=before, after=public(hook)
    )
    await session.commit()
    return ok(public(hook, secret))


@router.delete("/{webhook_id}", summary="Delete a webhook and its deliveries")
async def delete_webhook(webhook_id: str, principal: AdminUser, session: SessionDep) -> Response:
    hook = await _get(session, webhook_id)
    before = public(hook)
    await session.delete(hook)
    audit.record(session, principal, "webhook.delete", "webhook", webhook_id, before=before)
    await session.commit()
    return ok({"deleted": webhook_id})


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Envelope[Page[DeliveryPublic]],
    summary="A webhook's deliveries, newest first",
)
async def list_deliveries(
    webhook_id: str,
    _: AdminUser,
    session: SessionDep,
    status: str | None = Query(None, pattern="^(pending|delivered|failed)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    await _get(session, webhook_id)
    where = [col(WebhookDelivery.webhook_id) == webhook_id]
    if status:
        where.append(col(WebhookDelivery.status) == status)
    total = (
        await session.exec(select(func.count()).select_from(WebhookDelivery).where(*where))
    ).one()
    stmt = (
        select(WebhookDelivery)
        .where(*where)
        .order_by(col(WebhookDelivery.created_at).desc())
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.exec(stmt)).all()
    items = [delivery_public(d) for d in rows]
    return ok({"items": items, "total": total, "limit": limit, "offset": offset})


def delivery_public(row: WebhookDelivery) -> dict[str, Any]:
    data = row.model_dump(mode="json", exclude={"body"})
    data["payload"] = orjson.loads(row.body)
    return data


@router.post(
    "/{webhook_id}/test",
    response_model=Envelope[DeliveryPublic],
    summary="Send a signed `webhook.test` event now",
)
async def test_webhook(
    webhook_id: str, _: AdminUser, session: SessionDep, resources: ResourcesDep
) -> Response:
    hook = await _get(session, webhook_id)
    delivery = await resources.webhooks.send_test(hook)
    return ok(delivery_public(delivery))
