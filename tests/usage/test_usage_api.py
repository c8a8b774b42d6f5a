"""`GET /api/v1/usage`: grouping, date range, CSV, and who may see whose usage."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from bigshot_llm.db.engine import make_engine, make_session_factory
from bigshot_llm.db.models import UsageRecord
from bigshot_llm.main import create_app
from bigshot_llm.settings import Settings
from tests.conftest import ADMIN_KEY, auth
from tests.usage.helpers import CHAT_MODEL, EMBED_MODEL, NATIVE, USAGE, recent, summary

ADMIN = auth(ADMIN_KEY)
BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
MESSAGES = [{"role": "user", "content": "Name three primes."}]


async def chat(client: httpx.AsyncClient, headers: dict[str, str], **extra: Any) -> None:
    body = {"messages": MESSAGES, **extra}
    response = await client.post(f"{NATIVE}/chat/completions", json=body, headers=headers)
    assert response.status_code == 200, response.text


async def embed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(f"{NATIVE}/embeddings", json={"input": "x"}, headers=headers)
    assert response.status_code == 200, response.text


@BOTH_DATABASES
async def test_grouped_by_day_and_model_with_totals(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    await chat(client, user_headers)
    await chat(client, user_headers, stream=True)
    await embed(client, user_headers)
    report = await summary(client, user_headers, group_by="day,model")
    today = datetime.now(UTC).date().isoformat()
    groups = {(g["day"], g["model"]): g for g in report["groups"]}
    assert set(groups) == {(today, CHAT_MODEL), (today, EMBED_MODEL)}
    chats = groups[(today, CHAT_MODEL)]
    assert chats["requests"] == 2 and chats["errors"] == 0
    assert chats["prompt_tokens"] == 14
    assert chats["completion_tokens"] == 2 * sim.state.tokens
    assert chats["total_tokens"] == 14 + 2 * sim.state.tokens
    assert chats["avg_ttft_ms"] is not None and chats["avg_duration_ms"] > 0
    totals = report["totals"]
    assert totals["requests"] == 3
    assert totals["prompt_tokens"] == sum(g["prompt_tokens"] for g in report["groups"])


async def test_group_by_key_provider_and_date_range(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    await chat(client, user_headers)
    by_key = await summary(client, user_headers, group_by="key")
    [group] = by_key["groups"]
    assert group["key_name"] == "alice-key" and group["requests"] == 1
    by_provider = await summary(client, user_headers, group_by="provider")
    assert [g["provider"] for g in by_provider["groups"]] == ["LMStudio Local"]
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    later = await summary(
        client,
        user_headers,
        since=tomorrow.isoformat(),
        until=(tomorrow + timedelta(days=1)).isoformat(),
    )
    assert later["totals"]["requests"] == 0 and later["groups"] == []
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    window = await summary(client, user_headers, group_by="", since=past)
    assert window["totals"]["requests"] == 1


@BOTH_DATABASES
async def test_csv_export(
    client: httpx.AsyncClient, sim: Any, user_headers: dict[str, str]
) -> None:
    await chat(client, user_headers)
    response = await client.get(
        USAGE, params={"group_by": "day,model", "format": "csv"}, headers=user_headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert rows[0]["model"] == CHAT_MODEL and rows[0]["requests"] == "1"
    assert int(rows[0]["prompt_tokens"]) == 7


@BOTH_DATABASES
async def test_users_see_only_their_own_usage(
    client: httpx.AsyncClient,
    sim: Any,
    user_headers: dict[str, str],
    other_headers: dict[str, str],
) -> None:
    await chat(client, user_headers)
    assert (await summary(client, other_headers))["totals"]["requests"] == 0
    assert await recent(client, other_headers) == []
    [mine] = await recent(client, user_headers)
    alice = mine["user_id"]
    denied = await client.get(USAGE, params={"user_id": alice}, headers=other_headers)
    assert denied.status_code == 403
    # Admins see everyone's, and can narrow to a user or a key.
    assert (await summary(client, ADMIN))["totals"]["requests"] == 1
    assert (await summary(client, ADMIN, user_id=alice))["totals"]["requests"] == 1
    assert (await summary(client, ADMIN, key_id=mine["key_id"]))["totals"]["requests"] == 1
    assert (await summary(client, ADMIN, key_id="nope"))["totals"]["requests"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "colour"},
        {"group_by": "day,model,key,user"},
        {"group_by": "day,day"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"format": "xml"},
    ],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, user_headers: dict[str, str], params: dict[str, str]
) -> None:
    response = await client.get(USAGE, params=params, headers=user_headers)
    assert response.status_code == 422, response.text


@BOTH_DATABASES
async def test_queued_usage_is_written_on_shutdown(settings: Settings, sim: Any) -> None:
    """A long flush interval: nothing is written until the lifespan's exit writes it all."""
    slow = settings.model_copy(update={"usage_flush_seconds": 60.0, "usage_batch_size": 1000})
    app = create_app(slow)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(3):
                await chat(client, ADMIN)
            await chat(client, ADMIN, stream=True)
        assert app.state.resources.usage.pending == 4
        assert await count_rows(slow) == 0
    assert await count_rows(slow) == 4


async def test_a_full_batch_is_written_without_waiting(settings: Settings, sim: Any) -> None:
    eager = settings.model_copy(update={"usage_flush_seconds": 60.0, "usage_batch_size": 2})
    app = create_app(eager)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await chat(client, ADMIN)
            await chat(client, ADMIN)
        recorder = app.state.resources.usage
        for _ in range(200):
            if recorder.written == 2:
                break
            await asyncio.sleep(0.01)
        assert recorder.written == 2 and recorder.pending == 0


async def count_rows(settings: Settings) -> int:
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_session_factory(engine)() as session:
            return int((await session.exec(select(func.count()).select_from(UsageRecord))).one())
    finally:
        await engine.dispose()
