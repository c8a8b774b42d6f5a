"""Shutdown flushes running generations, a stop stores one answer, and stream tokens never
reach the logs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bigshot_llm.main import create_app
from bigshot_llm.services.chat import conversations
from bigshot_llm.services.chat.buffers.memory import MemoryStreamBuffer
from bigshot_llm.services.chat.handle import StreamHandle
from bigshot_llm.services.generation import service
from bigshot_llm.services.generation.stats import StreamStats
from bigshot_llm.settings import Settings
from tests.conftest import ADMIN_KEY, auth, create_user_key
from tests.conversations.helpers import STREAMS, messages_of, read_all, start_stream


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


async def test_a_stop_that_lands_while_the_answer_is_stored_stores_it_once(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    sim: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stop's wait cancels the generation again every 0.25 s (a library can swallow a
    cancellation). When storing the partial answer outlasts that (a busy machine), the second
    cancellation used to land in the store and the stop stored the answer a second time: two
    cancelled answers after one stop (issue #16)."""
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    store = conversations.store_answer
    calls = 0

    async def slow_store(*args: Any, **kwargs: Any) -> str | None:
        nonlocal calls
        calls += 1
        message_id = await store(*args, **kwargs)
        if calls == 1:  # committed, but returning takes longer than the stop's re-cancel
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.Event().wait(), 1.0)
        return message_id

    monkeypatch.setattr(conversations, "store_answer", slow_store)
    created = await start_stream(client, user_headers, message="a long story")
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 1, timeout=5)
    stopped = await client.delete(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert stopped.status_code == 200
    assert stopped.json()["data"]["status"] == "cancelled"

    messages = await messages_of(client, created["conversation_id"], user_headers)
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"),
        ("assistant", "cancelled"),
    ]
    assert messages[1]["siblings"] == [messages[1]["id"]]  # not a second version of it
    events = await read_all(client, created["events_url"])
    assert [name for _, name, _ in events].count("done") == 1
    assert events[-1][2]["message_id"] == messages[1]["id"]
    assert calls == 1


async def test_the_stop_and_the_sweeper_finishing_one_stream_store_one_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A generation cancelled before it stored its answer is finished by whoever notices:
    the stop's wait and the sweeper may both do it at once, and only one may store it."""
    created = await start_stream(client, user_headers, message="hello")
    await read_all(client, created["events_url"])  # the first answer is stored
    manager = app.state.resources.streams
    first = manager.get(created["stream_id"])
    meta = dataclasses.replace(first.buffer.meta, stream_id="f" * 32)
    handle = StreamHandle(
        MemoryStreamBuffer(meta), StreamStats(), first.context, first.user_message_id
    )
    handle.cancel_reason = "stopped"
    handle.task = asyncio.create_task(asyncio.sleep(3600))
    handle.task.cancel()  # cancelled before it ever ran: nothing stored yet
    with contextlib.suppress(asyncio.CancelledError):
        await handle.task
    store = conversations.store_answer
    calls = 0

    async def counted_store(*args: Any, **kwargs: Any) -> str | None:
        nonlocal calls
        calls += 1
        return await store(*args, **kwargs)

    monkeypatch.setattr(conversations, "store_answer", counted_store)
    results = await asyncio.gather(
        manager.stop(handle),
        manager._check(meta.stream_id, handle, time.monotonic()),
        return_exceptions=True,
    )
    assert results == [None, None]
    assert calls == 1
    finals = [e.event async for e in handle.buffer.read_after(0) if e.event in ("done", "error")]
    assert finals == ["done"]
    messages = await messages_of(client, created["conversation_id"], user_headers)
    assert len(messages[-1]["siblings"]) == 2  # the first answer and this stream's, once


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


async def test_a_stream_whose_answer_cannot_be_stored_still_ends_with_a_final_event(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database failing while the answer is stored (a statement timeout on a busy
    machine) used to leave the stream without a final event: `running` on every replica
    until its buffer expired, and readers waiting for an end that never came."""

    async def failing_store(*args: Any, **kwargs: Any) -> str | None:
        raise OSError("connection refused")  # what the driver raises with Postgres gone

    monkeypatch.setattr(conversations, "store_answer", failing_store)
    created = await start_stream(client, user_headers, message="hello")
    events = await asyncio.wait_for(read_all(client, created["events_url"]), 15)
    assert [name for _, name, _ in events].count("delta") > 0
    assert events[-1][1] == "error", events[-3:]
    assert events[-1][2]["code"] == "answer_not_stored"
    status = await client.get(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert status.json()["data"]["status"] == "error"


async def test_a_stop_while_the_upstream_closes_slowly_gives_the_gpu_slot_back(
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    sim: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stop's wait cancels again every 0.25 s. When closing the upstream took longer (a
    busy machine), that second cancellation landed in the generation's clean-up and the GPU
    slot it held was never given back: the model looked busy for good."""
    listing = await client.get(
        "/api/v1/llm-providers/models",
        params={"detailed": "true", "refresh": "true"},
        headers=auth(ADMIN_KEY),
    )
    assert listing.status_code == 200  # the gateway learns the model's slots from it
    original = service.close_iterator

    async def slow_upstream_close(iterator: Any, **kwargs: Any) -> None:
        if getattr(getattr(iterator, "ag_code", None), "co_name", "") != "_run":
            await asyncio.sleep(0.8)  # the upstream's close, not the generation's own
        await original(iterator, **kwargs)

    monkeypatch.setattr(service, "close_iterator", slow_upstream_close)
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    created = await start_stream(client, user_headers, message="a long story")
    await sim.state.wait_for_async(lambda: sim.state.streams_open == 1, timeout=5)

    async def in_use() -> int:
        answer = await client.get("/api/v1/llm-providers/capacity", headers=auth(ADMIN_KEY))
        assert answer.status_code == 200, answer.text
        return sum(row["in_use"] for row in answer.json()["data"])

    assert await in_use() == 1
    stopped = await client.delete(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert stopped.status_code == 200
    deadline = time.monotonic() + 10
    while await in_use() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await in_use() == 0


async def test_shutdown_ends_a_sweeper_whose_cancellation_was_swallowed() -> None:
    """A Redis client can swallow a cancellation (see `_settle`). When the sweeper's did, its
    endless loop went on and shutdown waited for it for good: a replica that never exited."""
    from bigshot_llm.services.chat.streams import StreamManager

    class SwallowingBuffer:
        closed = False
        subscribers = 1

        async def sync(self) -> None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(2)

        def idle_seconds(self, now: float | None = None) -> float:
            return 0.0

    manager = StreamManager(None, None, grace=0.25, keep=1, default_context_length=1)  # type: ignore[arg-type]
    manager._streams["s"] = StreamHandle(SwallowingBuffer(), StreamStats(), {}, None)  # type: ignore[arg-type]
    await manager.start()
    await asyncio.sleep(0.3)  # the sweeper is inside the buffer's sync
    await asyncio.wait_for(manager.close(), 10)


async def test_a_failed_sync_leaves_the_running_stream_tracked(
    app: FastAPI,
    client: httpx.AsyncClient,
    user_headers: dict[str, str],
    sim: Any,
) -> None:
    """The sweeper syncs each running stream with the shared store (Redis). A sync that
    failed once (a Redis blip, a slow reply past its timeout) used to drop the stream from
    the replica's table while its generation ran on: the stop button then answered 404 and
    a second message in the chat was no longer refused as `stream_running`."""
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    manager = app.state.resources.streams
    created = await start_stream(client, user_headers, message="a long story")
    handle = manager.get(created["stream_id"])
    real_sync, failures = handle.buffer.sync, 0

    async def blip() -> None:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise ConnectionError("Redis blip")
        await real_sync()

    handle.buffer.sync = blip
    deadline = time.monotonic() + 30
    while failures == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert failures == 1
    await asyncio.sleep(0.1)  # the sweep that failed has moved on
    assert manager.get(created["stream_id"]) is handle
    again = await client.post(
        STREAMS,
        json={"conversation_id": created["conversation_id"], "message": "and now?"},
        headers=user_headers,
    )
    assert again.status_code == 409, again.text
    stopped = await client.delete(f"{STREAMS}/{created['stream_id']}", headers=user_headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["data"]["status"] == "cancelled"
