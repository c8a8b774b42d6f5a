"""Webhooks: signed event deliveries with persisted retries (an outbox in the database).

Emitting an event adds one `webhook_deliveries` row per subscribed webhook (in the caller's
transaction when it has one, so a config change and its `config.changed` commit together).
The `WebhookDispatcher` (one per process, started by the lifespan) sends due rows, records
each attempt, and reschedules failures with exponential backoff until `max_age` (24 h) has
passed since the event: retries survive restarts because the schedule is in the table.
Several workers may poll the same table: a row is claimed with a conditional UPDATE first.

Each request is a POST of the JSON body with
``X-Bigshot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed by the secret>``
and ``X-Bigshot-Timestamp``. Redirects are not followed and the SSRF guard runs before every
attempt (link-local and metadata addresses are refused even though admins own webhooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.aio import stop_task
from bigshot_llm.db.models import AuditEvent, Webhook, WebhookDelivery, new_id, utcnow
from bigshot_llm.errors import GatewayError
from bigshot_llm.providers.addresses import PRIVILEGED, guarded_httpx_transport
from bigshot_llm.services.access.secrets import SecretBox, SecretUnreadable
from bigshot_llm.services.access.url_guard import check_url
from bigshot_llm.services.usage.metrics import Metrics

log = logging.getLogger(__name__)

TEST_EVENT = "webhook.test"
BATCH = 50


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Bigshot-Signature`` value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def event_body(event: str, data: dict[str, Any]) -> str:
    payload = {"id": new_id(), "event": event, "created_at": utcnow().isoformat(), "data": data}
    return orjson.dumps(payload, default=str).decode()


async def enqueue(
    session: AsyncSession,
    event: str,
    data: dict[str, Any],
    *,
    hooks: Iterable[Webhook] | None = None,
) -> list[WebhookDelivery]:
    """Add a delivery of `event` for every enabled webhook subscribed to it (not committed)."""
    if hooks is None:
        with session.no_autoflush:  # the caller's pending rows are flushed by its own commit
            found = await session.exec(select(Webhook).where(col(Webhook.enabled).is_(True)))
            hooks = [h for h in found.all() if event in h.events]
    rows = []
    body = event_body(event, data)
    for hook in hooks:
        row = WebhookDelivery(webhook_id=hook.id, event=event, body=body, next_attempt_at=utcnow())
        session.add(row)
        rows.append(row)
    return rows


async def enqueue_config_changes(session: AsyncSession) -> None:
    """`config.changed` for each audit event about to be committed in `session`."""
    for event in [obj for obj in session.new if isinstance(obj, AuditEvent)]:
        data = {
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "actor": event.actor_name,
            "before": event.before,
            "after": event.after,
        }
        await enqueue(session, "config.changed", data)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    timeout: float = 10.0  # one attempt
    backoff: float = 30.0  # first retry after this, doubling
    max_backoff: float = 3600.0
    max_age: float = 86400.0  # give up this long after the event
    poll: float = 2.0  # how often the table is checked for due rows

    def lease(self) -> datetime:
        """Until when a claimed row is left to its sender (one attempt and a margin)."""
        return utcnow() + timedelta(seconds=self.timeout + 30)

    def delay(self, attempts: int) -> float:
        return float(min(self.backoff * (2 ** max(0, attempts - 1)), self.max_backoff))


class EventSource:
    """What emits an event off the request path: its deliveries are queued in a transaction
    of their own, and the dispatcher woken for them."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], dispatcher: WebhookDispatcher
    ) -> None:
        self._sessions = sessions
        self._dispatcher = dispatcher

    async def _queued(self, session: AsyncSession, count: int) -> int:
        """Commit the `count` deliveries queued in `session` (none: nothing to do) and wake
        the dispatcher for them."""
        if count:
            await session.commit()
            self._dispatcher.wake()
        return count


class WebhookDispatcher:
    """Sends due deliveries in the background; `emit` is the API for the rest of the gateway."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        policy: RetryPolicy | None = None,
        allowed_hosts: frozenset[str] = frozenset(),
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self.policy = policy or RetryPolicy()
        self.allowed_hosts = allowed_hosts
        self.metrics = metrics
        self._client = httpx.AsyncClient(
            timeout=self.policy.timeout,
            follow_redirects=False,
            trust_env=False,
            # Resolved and checked again per connection: a rebinding name cannot reach metadata.
            transport=transport or guarded_httpx_transport(PRIVILEGED),
            headers={"User-Agent": "bigshot-llm-webhooks", "Content-Type": "application/json"},
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None
        await self._client.aclose()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                if await self.deliver_due():
                    continue
            except Exception:
                log.exception("webhook dispatch round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.policy.poll)
            self._wake.clear()

    # ---- emitting -------------------------------------------------------------------------

    async def emit(self, event: str, data: dict[str, Any]) -> int:
        """Queue `event` for every subscribed webhook; returns how many deliveries were made."""
        async with self._sessions() as session:
            rows = await enqueue(session, event, data)
            if rows:
                await session.commit()
        if rows:
            self.wake()
        return len(rows)

    async def send_test(self, hook: Webhook) -> WebhookDelivery:
        """Deliver a `webhook.test` event to `hook` now, once (no retries)."""
        async with self._sessions() as session:
            (row,) = await enqueue(
                session, TEST_EVENT, {"webhook_id": hook.id, "message": "hello"}, hooks=[hook]
            )
            # Leased to this call, as a claim would: the background poll must not send it too.
            row.next_attempt_at = self.policy.lease()
            await session.commit()
        return await self._attempt(row.id, retry=False)

    # ---- delivering -----------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """One round: claim and send the rows whose time has come; returns how many."""
        now = utcnow()
        async with self._sessions() as session:
            stmt = (
                select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
                .where(col(WebhookDelivery.status) == "pending")
                .where(col(WebhookDelivery.next_attempt_at) <= now)
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(BATCH)
            )
            due = (await session.exec(stmt)).all()
            lease = self.policy.lease()
            claimed: list[str] = []
            for delivery_id, scheduled in due:
                result = await session.exec(
                    update(WebhookDelivery)
                    .where(col(WebhookDelivery.id) == delivery_id)
                    .where(col(WebhookDelivery.status) == "pending")
                    .where(col(WebhookDelivery.next_attempt_at) == scheduled)
                    .values(next_attempt_at=lease)
                )
                if result.rowcount == 1:
                    claimed.append(delivery_id)
            await session.commit()
        attempts = {d: asyncio.ensure_future(self._attempt(d)) for d in claimed}
        try:
            await asyncio.gather(*attempts.values(), return_exceptions=True)
        except asyncio.CancelledError:
            # Stopped mid-delivery (a shutdown): hand the unfinished rows back, due now, so
            # the next worker sends them at once instead of after the lease. The receiver may
            # see one twice (deliveries are at least once; the body's `id` tells them apart).
            # (gather has cancelled its children already: an unfinished one ended cancelled)
            unfinished = [d for d, t in attempts.items() if t.cancelled() or not t.done()]
            for task in attempts.values():
                task.cancel()
            await asyncio.shield(self._release(unfinished))
            raise
        return len(claimed)

    async def _release(self, delivery_ids: list[str]) -> None:
        if not delivery_ids:
            return
        with contextlib.suppress(Exception):  # the database may be what stopped us
            async with asyncio.timeout(5), self._sessions() as session:
                await session.exec(
                    update(WebhookDelivery)
                    .where(col(WebhookDelivery.id).in_(delivery_ids))
                    .where(col(WebhookDelivery.status) == "pending")
                    .where(col(WebhookDelivery.next_attempt_at) > utcnow())  # still leased
                    .values(next_attempt_at=utcnow())
                )
                await session.commit()

    async def _attempt(self, delivery_id: str, *, retry: bool = True) -> WebhookDelivery:
        async with self._sessions() as session:
            row = await session.get(WebhookDelivery, delivery_id)
            if row is None:
                raise LookupError(delivery_id)  # its webhook was deleted meanwhile
            hook = await session.get(Webhook, row.webhook_id)
            code: int | None = None
            error: str | None = "the webhook is disabled"
            if hook is not None and (hook.enabled or not retry):
                code, error = await self._send(hook, row)
            row.attempts += 1
            row.last_status_code = code
            row.last_error = error[:500] if error else None
            now = utcnow()
            if error is None:
                row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
            else:
                next_at = now + timedelta(seconds=self.policy.delay(row.attempts))
                expired = (next_at - row.created_at).total_seconds() > self.policy.max_age
                if not retry or expired or hook is None or not hook.enabled:
                    row.status, row.next_attempt_at = "failed", None
                else:
                    row.next_attempt_at = next_at
            session.add(row)
            await session.commit()
        if self.metrics is not None:
            outcome = "delivered" if error is None else "failed"
            self.metrics.webhook_deliveries.labels(row.event, outcome).inc()
        return row

    async def _send(self, hook: Webhook, row: WebhookDelivery) -> tuple[int | None, str | None]:
        """POST the signed body; (HTTP status or None, error or None)."""
        try:
            await check_url(
                hook.url, privileged=True, allowed_hosts=self.allowed_hosts, field="url"
            )
        except GatewayError as exc:
            return None, exc.message
        try:
            secret = self._box.decrypt(hook.secret_encrypted)
        except SecretUnreadable:
            log.error("webhook %s: its signing secret cannot be decrypted", hook.id)
            return None, (
                f"webhook {hook.id}: its signing secret cannot be decrypted; BIGSHOT_SECRET_KEY "
                "changed without `bigshot-llm secrets rotate` (rotate, or set a new secret)"
            )
        body = row.body.encode()
        timestamp = int(time.time())
        headers = {
            "X-Bigshot-Event": row.event,
            "X-Bigshot-Delivery": row.id,
            "X-Bigshot-Timestamp": str(timestamp),
            "X-Bigshot-Signature": sign(secret, timestamp, body),
        }
        try:
            response = await self._client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        if response.is_success:
            return response.status_code, None
        if response.is_redirect:
            return response.status_code, "redirects are not followed"
        return response.status_code, f"HTTP {response.status_code}"
