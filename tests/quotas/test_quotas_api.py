"""Quotas through the API, in process (no Redis): the admin API with its validation and audit,
a tokens quota refusing the request after it is used up, a running stream never cut, the
`usage.threshold` webhook at 80 % and 100 %, and the caller's own view."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigshot_llm.main import create_app
from bigshot_llm.settings import Settings
from bigshot_llm.sse import SSEDecoder
from tests.conftest import auth, create_user_key
from tests.quotas.helpers import ADMIN, MESSAGES, QUOTAS, SURFACES, me, quota_fields, set_quota
from tests.support.servers import ThreadedServer

NATIVE_CHAT = SURFACES["native"][0]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_backoff_seconds": 0.05, "webhook_poll_seconds": 0.05}


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.bodies.append(orjson.loads(await request.body()))
        return Response("ok")


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with ThreadedServer(rec.app) as server:
        yield rec, server.url


async def until(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def chat(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post(NATIVE_CHAT, json={"messages": MESSAGES}, headers=headers)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "requests", "period": "month"}, "period"),
        ({"metric": "tokens", "limit": 1.5}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": -3}, "limit"),
        ({"metric": "watts"}, "metric"),
        ({"period": "week"}, "period"),
        ({"subject": "team"}, "subject"),
        ({"subject_id": "nobody"}, "subject_id"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_quotas_are_refused_with_the_field(
    client: httpx.AsyncClient, user_headers: dict[str, str], change: dict[str, Any], field: str
) -> None:
    user = await me(client, user_headers)
    body = {"subject": "user", "subject_id": user["user_id"], "metric": "tokens", "period": "day"}
    body.update({"limit": 10, **change})
    response = await client.post(QUOTAS, json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == field and error["details"][0]["msg"]


async def test_admins_manage_quotas_audited(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    user = await me(client, user_headers)
    quota = await set_quota(client, "user", user["user_id"], "tokens", "month", 1000)
    assert quota["subject_name"] == "alice" and quota["used"] == 0
    now = datetime.now(UTC)
    assert datetime.fromisoformat(quota["resets_at"]).day == 1
    assert datetime.fromisoformat(quota["resets_at"]) > now
    again = await client.post(
        QUOTAS,
        json={k: quota[k] for k in ("subject", "subject_id", "metric", "period", "limit")},
        headers=ADMIN,
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "quota_exists"
    # Users may neither list nor set quotas.
    assert (await client.get(QUOTAS, headers=user_headers)).status_code == 403
    patched = await client.patch(f"{QUOTAS}/{quota['id']}", json={"limit": 500}, headers=ADMIN)
    assert patched.status_code == 200 and patched.json()["data"]["limit"] == 500
    fractional = await client.patch(f"{QUOTAS}/{quota['id']}", json={"limit": 0.5}, headers=ADMIN)
    assert fractional.status_code == 422
    assert fractional.json()["error"]["details"][0]["field"] == "limit"
    listed = (await client.get(QUOTAS, headers=ADMIN)).json()["data"]
    assert [q["id"] for q in listed] == [quota["id"]]
    assert (await client.delete(f"{QUOTAS}/{quota['id']}", headers=ADMIN)).status_code == 200
    assert (await client.delete(f"{QUOTAS}/{quota['id']}", headers=ADMIN)).status_code == 404
    audit = (await client.get("/api/v1/audit", headers=ADMIN)).json()["data"]["items"]
    actions = [e["action"] for e in audit if e["target_type"] == "quota"]
    assert actions == ["quota.delete", "quota.update", "quota.create"]
    update = next(e for e in audit if e["action"] == "quota.update")
    assert update["before"]["limit"] == 1000 and update["after"]["limit"] == 500


async def test_a_tokens_quota_refuses_once_used_up_and_the_user_sees_it(
    client: httpx.AsyncClient, user_headers: dict[str, str], other_headers: dict[str, str]
) -> None:
    user = await me(client, user_headers)
    await set_quota(client, "user", user["user_id"], "tokens", "day", 40)
    first = await chat(client, user_headers)  # 7 prompt + 20 completion tokens
    assert first.status_code == 200, first.text
    mine = (await client.get("/api/v1/llm-providers/quota-usage", headers=user_headers)).json()
    [row] = mine["data"]
    assert row["metric"] == "tokens" and row["used"] == 27 and row["remaining"] == 13
    second = await chat(client, user_headers)  # admitted (27 < 40); ends at 54
    assert second.status_code == 200
    refused = await chat(client, user_headers)
    assert refused.status_code == 429
    fields = quota_fields("native", refused.json())
    assert fields["quota"]["metric"] == "tokens" and fields["quota"]["limit"] == 40
    assert fields["usage"] == 54
    resets = datetime.fromisoformat(fields["resets_at"])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert resets.date() == tomorrow and (resets.hour, resets.minute) == (0, 0)
    retry = int(refused.headers["Retry-After"])
    assert 0 < retry <= 86400
    assert abs(retry - (resets - datetime.now(UTC)).total_seconds()) < 120
    # Another user is not affected, and the refusal was not recorded as usage.
    assert (await chat(client, other_headers)).status_code == 200


async def test_a_running_stream_is_not_cut_when_the_quota_is_passed(
    settings: Settings, sim: Any
) -> None:
    # A real socket: the in-memory transport would hand over the stream only once it ended.
    with ThreadedServer(create_app(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
            user_headers = auth(await create_user_key(client, "carol"))
            user = await me(client, user_headers)
            await set_quota(client, "user", user["user_id"], "tokens", "day", 20)
            sim.state.tokens, sim.state.token_delay = 40, 0.05  # a stream of two seconds
            events: list[str] = []
            passed = False
            async with client.stream(
                "POST",
                NATIVE_CHAT,
                json={"messages": MESSAGES, "stream": True},
                headers=user_headers,
            ) as streaming:
                assert streaming.status_code == 200
                decoder = SSEDecoder()
                async for raw in streaming.aiter_raw():
                    events.extend(event.event or "message" for event in decoder.feed(raw))
                    if not passed and "delta" in events:
                        sim.state.token_delay = 0.0
                        # A one-shot call meanwhile uses the quota up (7 + 40 tokens > 20).
                        meanwhile = await chat(client, user_headers)
                        assert meanwhile.status_code == 200, meanwhile.text
                        assert (await chat(client, user_headers)).status_code == 429
                        passed = True
            assert passed and events[-1] == "done" and "error" not in events
            assert events.count("delta") >= 10  # the whole answer came through
            refused = await chat(client, user_headers)
    assert refused.status_code == 429
    assert quota_fields("native", refused.json())["usage"] == 2 * (7 + 40)


async def test_requests_quota_refused_on_every_surface_in_its_shape(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    user = await me(client, user_headers)
    await set_quota(client, "key", user["key_id"], "requests", "day", 1)
    path, body = SURFACES["openai"]
    assert (await client.post(path, json=body, headers=user_headers)).status_code == 200
    for surface, (path, body) in SURFACES.items():
        refused = await client.post(path, json=body, headers=user_headers)
        assert refused.status_code == 429, (surface, refused.text)
        fields = quota_fields(surface, refused.json())
        assert fields["quota"]["subject"] == "key" and fields["quota"]["limit"] == 1
        assert fields["usage"] == 1 and fields["resets_at"].endswith("T00:00:00Z")
        assert int(refused.headers["Retry-After"]) > 0


async def test_the_webhook_fires_at_80_and_100_percent_once_each(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    receiver: tuple[Receiver, str],
) -> None:
    rec, url = receiver
    hook = await client.post(
        "/api/v1/webhooks",
        json={
            "url": f"{url}/hook",
            "events": ["usage.threshold"],
            "usage_threshold_tokens": 10**9,  # the per-key token alert stays out of the way
        },
        headers=ADMIN,
    )
    assert hook.status_code == 201, hook.text
    user = await me(client, user_headers)
    quota = await set_quota(client, "user", user["user_id"], "requests", "day", 5)
    for _ in range(5):
        assert (await chat(client, user_headers)).status_code == 200
    for _ in range(2):
        assert (await chat(client, user_headers)).status_code == 429
    await until(lambda: len(rec.bodies) == 2)
    await asyncio.sleep(0.5)  # nothing more comes
    assert len(rec.bodies) == 2
    data = [body["data"] for body in rec.bodies]
    assert sorted(d["level"] for d in data) == [80, 100]
    for item in data:
        assert item["kind"] == "quota" and item["quota"]["id"] == quota["id"]
        assert item["usage"] == (4 if item["level"] == 80 else 5)
        assert rec.bodies[0]["event"] == "usage.threshold"


async def test_quotas_go_with_the_user_or_key_they_limit(
    client: httpx.AsyncClient, user_headers: dict[str, str]
) -> None:
    """Deleting a user removes its quotas and its keys' quotas; revoking a key, the key's."""
    user = await me(client, user_headers)
    await set_quota(client, "user", user["user_id"], "requests", "day", 10)
    await set_quota(client, "key", user["key_id"], "tokens", "day", 100)
    second = await client.post("/api/v1/keys", json={"name": "second"}, headers=user_headers)
    assert second.status_code == 201, second.text
    second_id = second.json()["data"]["id"]
    await set_quota(client, "key", second_id, "requests", "day", 5)

    revoked = await client.delete(f"/api/v1/keys/{second_id}", headers=user_headers)
    assert revoked.status_code == 200
    left = (await client.get(QUOTAS, headers=ADMIN)).json()["data"]
    assert sorted(q["subject_id"] for q in left) == sorted([user["user_id"], user["key_id"]])

    deleted = await client.delete(f"/api/v1/users/{user['user_id']}", headers=ADMIN)
    assert deleted.status_code == 200, deleted.text
    assert (await client.get(QUOTAS, headers=ADMIN)).json()["data"] == []
