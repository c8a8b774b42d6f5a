"""Registering webhooks (admins): create, change, rotate the secret, delete, each audited,
and reading their deliveries.

The signing secret is shown once, in the answer that creates it (or rotates it); it is stored
encrypted. Webhook URLs pass the SSRF guard (private hosts are fine for admins; link-local
and cloud-metadata addresses never are).
"""

from __future__ import annotations

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import Webhook, WebhookDelivery, utcnow
from bigshot_llm.db.pages import fetch_page
from bigshot_llm.errors import NotFound, RequestValidationFailed
from bigshot_llm.schemas.base import Page
from bigshot_llm.schemas.webhooks import (
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.access.secrets import SecretBox
from bigshot_llm.services.access.url_guard import check_url
from bigshot_llm.services.webhooks.dispatcher import new_secret


def hook_public(hook: Webhook, secret: str | None = None) -> WebhookPublic:
    """The stored webhook; with the secret only in the answer that issued it."""
    fields = hook.model_dump(exclude={"secret_encrypted"})
    if secret is not None:
        return WebhookWithSecret(**fields, secret=secret)
    return WebhookPublic(**fields)


def delivery_public(row: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic(**row.model_dump(exclude={"body"}), payload=orjson.loads(row.body))


def _need_threshold(events: list[str], threshold: int | None) -> None:
    if "usage.threshold" in events and not threshold:
        raise RequestValidationFailed(
            "usage_threshold_tokens: needed for usage.threshold",
            details=[{"loc": ["body", "usage_threshold_tokens"], "msg": "needed"}],
        )


class WebhookService:
    def __init__(
        self, session: AsyncSession, box: SecretBox, *, allowed_hosts: frozenset[str]
    ) -> None:
        self.session = session
        self.box = box
        self.allowed_hosts = allowed_hosts

    async def _guard(self, url: str) -> None:
        await check_url(url, privileged=True, allowed_hosts=self.allowed_hosts, field="url")

    async def get(self, webhook_id: str) -> Webhook:
        hook = await self.session.get(Webhook, webhook_id)
        if hook is None:
            raise NotFound(f"webhook '{webhook_id}' not found")
        return hook

    async def listed(self) -> list[WebhookPublic]:
        hooks = (await self.session.exec(select(Webhook).order_by(col(Webhook.created_at)))).all()
        return [hook_public(h) for h in hooks]

    async def create(self, principal: Principal, body: WebhookCreate) -> WebhookPublic:
        _need_threshold(body.events, body.usage_threshold_tokens)
        await self._guard(body.url)
        secret = new_secret()
        hook = Webhook(
            **body.model_dump(),
            secret_encrypted=self.box.encrypt(secret),
            created_by=principal.user_id,
        )
        self.session.add(hook)
        after = hook_public(hook).model_dump()
        audit.record(self.session, principal, "webhook.create", "webhook", hook.id, after=after)
        await self.session.commit()
        return hook_public(hook, secret)

    async def update(
        self, principal: Principal, webhook_id: str, body: WebhookUpdate
    ) -> WebhookPublic:
        hook = await self.get(webhook_id)
        before = hook_public(hook).model_dump()
        changes = body.model_dump(exclude_unset=True, exclude={"rotate_secret"})
        for name in ("url", "events", "enabled"):
            if name in changes and changes[name] is None:
                raise RequestValidationFailed(
                    f"'{name}' cannot be null", details=[{"loc": ["body", name], "msg": "not null"}]
                )
        if changes.get("url"):
            await self._guard(changes["url"])
        for name, value in changes.items():
            setattr(hook, name, value)
        _need_threshold(hook.events, hook.usage_threshold_tokens)
        secret = new_secret() if body.rotate_secret else None
        if secret is not None:
            hook.secret_encrypted = self.box.encrypt(secret)
        hook.updated_at = utcnow()
        self.session.add(hook)
        after = hook_public(hook).model_dump()
        audit.record(
            self.session,
            principal,
            "webhook.update",
            "webhook",
            hook.id,
            before=before,
            after=after,
        )
        await self.session.commit()
        return hook_public(hook, secret)

    async def delete(self, principal: Principal, webhook_id: str) -> None:
        hook = await self.get(webhook_id)
        before = hook_public(hook).model_dump()
        await self.session.delete(hook)
        audit.record(
            self.session, principal, "webhook.delete", "webhook", webhook_id, before=before
        )
        await self.session.commit()

    async def deliveries(
        self, webhook_id: str, *, status: str | None, limit: int, offset: int
    ) -> Page[DeliveryPublic]:
        await self.get(webhook_id)
        where = [col(WebhookDelivery.webhook_id) == webhook_id]
        if status:
            where.append(col(WebhookDelivery.status) == status)
        newest = [col(WebhookDelivery.created_at).desc()]
        rows, total = await fetch_page(
            self.session, WebhookDelivery, where, newest, limit=limit, offset=offset
        )
        items = [delivery_public(d) for d in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)
