"""Shutdown flushes running generations, and stream tokens never reach the logs."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.settings import Settings
from tests.conftest import ADMIN_KEY, auth, create_user_key
from tests.conversations.helpers import messages_of, read_all, start_stream


async def test_shutdown_cancels_running_streams_and_stores_their_partial_answers(
    settings: Settings, sim: Any
) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            alice = auth(await create_user_key(client, "alice"))
            created = await start_stream(client, alice, message="a long story")
            await sim.state.wait_for_async(lambda: sim.state.streams_open == 1, timeout=5)
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2)

    app = create_app(settings)  # same database, fresh process state
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            messages = await messages_of(client, created["conversation_id"], alice)
            gone = await client.get(created["events_url"])
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"),
        ("assistant", "cancelled"),
    ]
    assert messages[1]["stats"]["cancel_reason"] == "shutdown"
    assert gone.status_code == 404  # buffers live in process: a restart forgets them


async def test_stream_tokens_are_not_logged(
    client: httpx.AsyncClient, user_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await start_stream(client, user_headers, message="hello")
    await read_all(client, created["events_url"])
    await client.get(created["events_url"] + "x")  # a wrong token is not echoed either
    token = created["events_url"].split("token=")[1]
    # Everything the gateway logged (the test's own httpx client logs the URLs it requests).
    server_side = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("httpx")
    )
    assert server_side
    assert token not in server_side
    assert ADMIN_KEY not in server_side
