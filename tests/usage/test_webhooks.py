"""Webhooks delivered to a real local receiver: signatures, retries, redirects, SSRF, restarts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bigshot_llm.db.models import WebhookDelivery
from bigshot_llm.main import create_app
from bigshot_llm.settings import Settings
from tests.conftest import ADMIN_KEY, auth
from tests.support.servers import ThreadedServer
from tests.usage.helpers import NATIVE

ADMIN = auth(ADMIN_KEY)
HOOKS = "/api/v1/webhooks"
FAST = {"webhook_backoff_seconds": 0.05, "webhook_poll_seconds": 0.05}


class Receiver:
    """A tiny Starlette app that records each POST and fails the first `failures` of them."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.failures = 0
        self.app = Starlette(
            routes=[
                Route("/hook", self.hook, methods=["POST"]),
                Route("/moved", self.moved, methods=["POST"]),
                Route("/hang", self.hang, methods=["POST"]),
            ]
        )

    async def hook(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), await request.body()))
        if self.failures > 0:
            self.failures -= 1
            return Response("boom", status_code=500)
        return Response("ok")

    async def hang(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), await request.body()))
        await asyncio.sleep(60)  # never answers in time: the gateway gives up first
        return Response("late")

    async def moved(self, request: Request) -> Response:
        return RedirectResponse("/hook", status_code=307)

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.calls]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with ThreadedServer(rec.app) as server:
        yield rec, server.url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(FAST)


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (the README's snippet)."""
    timestamp = headers["x-bigshot-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(headers["x-bigshot-signature"], "sha256=" + expected.hexdigest())


async def register(client: httpx.AsyncClient, url: str, events: list[str], **extra: Any) -> dict:
    response = await client.post(HOOKS, json={"url": url, "events": events, **extra}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_config_change_is_delivered_signed_after_a_failed_attempt(
    client: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    rec.failures = 1
    hook = await register(client, f"{url}/hook", ["config.changed"])
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    shown = (await client.get(f"{HOOKS}/{hook['id']}", headers=ADMIN)).json()["data"]
    assert "secret" not in shown and "secret_encrypted" not in shown

    providers = (await client.get(NATIVE, headers=ADMIN)).json()["data"]
    changed = await client.patch(
        f"{NATIVE}/{providers[0]['id']}", json={"read_timeout": 900}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    await until(lambda: len(rec.calls) == 2)
    first, second = rec.calls
    assert first[1] == second[1]  # the same body, retried
    headers, body = second
    assert verify(secret, headers, body)
    assert not verify("whsec_wrong", headers, body)
    event = orjson.loads(body)
    assert event["event"] == "config.changed" == headers["x-bigshot-event"]
    assert event["data"]["action"] == "provider.update"
    assert event["data"]["after"]["read_timeout"] == 900

    async def delivery() -> dict[str, Any]:
        listed = await client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=ADMIN)
        return dict(listed.json()["data"]["items"][0])

    for _ in range(100):
        if (item := await delivery())["status"] == "delivered":
            break
        await asyncio.sleep(0.02)
    assert item["attempts"] == 2 and item["last_status_code"] == 200
    assert item["payload"]["event"] == "config.changed"


async def test_test_endpoint_and_rotated_secret(
    client: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    hook = await register(client, f"{url}/hook", ["provider.down"])
    rotated = await client.patch(
        f"{HOOKS}/{hook['id']}", json={"rotate_secret": True}, headers=ADMIN
    )
    new_secret = rotated.json()["data"]["secret"]
    assert new_secret and new_secret != hook["secret"]
    tested = await client.post(f"{HOOKS}/{hook['id']}/test", headers=ADMIN)
    assert tested.status_code == 200, tested.text
    assert tested.json()["data"]["status"] == "delivered"
    # Only the test delivery: a health check that timed out on a busy machine may also have
    # sent `provider.down` to this hook.
    [(headers, body)] = [c for c in rec.calls if orjson.loads(c[1])["event"] == "webhook.test"]
    assert verify(new_secret, headers, body) and not verify(hook["secret"], headers, body)


async def test_a_test_delivery_is_sent_once_when_the_poller_runs_meanwhile(
    app: FastAPI,
    client: httpx.AsyncClient,
    receiver: tuple[Receiver, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test event's row is committed before it is sent: the background poll, running in
    that window (a busy machine widens it), must not claim and send it a second time."""
    rec, url = receiver
    hook = await register(client, f"{url}/hook", ["provider.down"])
    dispatcher = app.state.resources.webhooks
    attempt = dispatcher._attempt
    polled: list[int] = []

    async def poll_first(delivery_id: str, **options: Any) -> Any:
        monkeypatch.setattr(dispatcher, "_attempt", attempt)  # once
        polled.append(await dispatcher.deliver_due())  # the poll, inside the window
        return await attempt(delivery_id, **options)

    monkeypatch.setattr(dispatcher, "_attempt", poll_first)
    tested = await client.post(f"{HOOKS}/{hook['id']}/test", headers=ADMIN)
    assert tested.json()["data"]["status"] == "delivered"
    assert polled == [0]  # nothing was due for the poll
    assert [e["event"] for e in rec.events()] == ["webhook.test"]


async def test_redirects_are_not_followed(
    client: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    hook = await register(client, f"{url}/moved", ["provider.down"])
    tested = (await client.post(f"{HOOKS}/{hook['id']}/test", headers=ADMIN)).json()["data"]
    assert tested["status"] == "failed" and tested["last_status_code"] == 307
    assert "redirect" in tested["last_error"]
    assert rec.calls == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://169.254.169.254/latest/meta-data", "events": ["provider.up"]},
        {"url": "http://[fe80::1]/x", "events": ["provider.up"]},
        {"url": "ftp://example.com/x", "events": ["provider.up"]},
        {"url": "http://127.0.0.1/x", "events": ["everything"]},
        {"url": "http://127.0.0.1/x", "events": ["usage.threshold"]},  # no threshold
    ],
)
async def test_bad_webhooks_are_refused(client: httpx.AsyncClient, body: dict) -> None:
    response = await client.post(HOOKS, json=body, headers=ADMIN)
    assert response.status_code == 422, response.text


async def test_crud(client: httpx.AsyncClient, receiver: tuple[Receiver, str]) -> None:
    _, url = receiver
    hook = await register(client, f"{url}/hook", ["model.loaded"], description="ops")
    listed = (await client.get(HOOKS, headers=ADMIN)).json()["data"]
    assert [h["id"] for h in listed] == [hook["id"]]
    patched = await client.patch(
        f"{HOOKS}/{hook['id']}",
        json={"enabled": False, "events": ["model.unloaded"]},
        headers=ADMIN,
    )
    assert patched.json()["data"]["enabled"] is False
    assert "secret" not in patched.json()["data"]
    audit = (await client.get("/api/v1/audit?action=webhook.update", headers=ADMIN)).json()
    assert audit["data"]["total"] == 1
    assert (await client.delete(f"{HOOKS}/{hook['id']}", headers=ADMIN)).status_code == 200
    assert (await client.get(f"{HOOKS}/{hook['id']}", headers=ADMIN)).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_usage_threshold_fires_once_per_key_and_day(
    client: httpx.AsyncClient,
    sim: Any,
    receiver: tuple[Receiver, str],
    user_headers: dict[str, str],
) -> None:
    rec, url = receiver
    # One call is 7 prompt + 20 completion tokens: the second crosses 30, the third does not.
    await register(client, f"{url}/hook", ["usage.threshold"], usage_threshold_tokens=30)
    for _ in range(3):
        response = await client.post(
            f"{NATIVE}/chat/completions",
            json={"messages": [{"role": "user", "content": "Name three primes."}]},
            headers=user_headers,
        )
        assert response.status_code == 200
        await client.get("/api/v1/usage/recent", headers=user_headers)  # writes the batch
    await until(lambda: len(rec.calls) == 1)
    await asyncio.sleep(0.2)
    [event] = rec.events()
    assert event["event"] == "usage.threshold"
    assert event["data"]["tokens"] == 54 and event["data"]["threshold"] == 30
    assert event["data"]["key_id"]


async def test_retries_survive_a_restart(
    settings: Settings, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    rec.failures = 1
    # The retry is due well after the first app has stopped, even on a busy machine, so only
    # the second app (reading the stored delivery) can make it.
    slow = settings.model_copy(update={"webhook_backoff_seconds": 3.0})
    first = create_app(slow)
    async with first.router.lifespan_context(first):
        async with client_of(first) as client:
            await register(client, f"{url}/hook", ["provider.down"])
            assert (
                await first.state.resources.webhooks.emit("provider.down", {"provider": "x"}) == 1
            )
            await until(lambda: len(rec.calls) == 1)  # failed; the retry is 3 s away
    assert len(rec.calls) == 1
    second = create_app(slow)
    async with second.router.lifespan_context(second):
        await until(lambda: len(rec.calls) == 2, timeout=30.0)
    assert rec.events()[1]["event"] == "provider.down"


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_delivery_cut_off_by_a_shutdown_is_due_again_at_once(
    settings: Settings, receiver: tuple[Receiver, str]
) -> None:
    """A worker that stops mid-delivery (a restart, a deploy) hands the row back instead of
    leaving it claimed for the lease (40 s), so the next worker sends it at once."""
    rec, url = receiver
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with client_of(app) as client:
            await register(client, f"{url}/hang", ["provider.down"])
            dispatcher = app.state.resources.webhooks
            assert await dispatcher.emit("provider.down", {"provider": "x"}) == 1
            await until(lambda: len(rec.calls) == 1)  # sent, waiting for the answer
            await dispatcher.close()  # what a shutdown does mid-delivery
            async with app.state.resources.sessions() as session:
                [row] = (await session.exec(select(WebhookDelivery))).all()
            assert row.status == "pending"
            assert row.next_attempt_at is not None
            assert row.next_attempt_at.replace(tzinfo=UTC) <= datetime.now(UTC)
