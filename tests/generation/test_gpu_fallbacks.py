"""Fallbacks before the first byte, against two simulators over real sockets: a provider that
is unreachable, answers 5xx, has its GPU queue full or timed out, or lacks the model hands the
request to its fallbacks in order, and the answer names the target that served it (the
`done` event's `served_by`, the `X-Bigshot-Served-By`/`X-Bigshot-Fallback` headers). After
the first byte, never."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, auth
from tests.conversations.helpers import messages_of, read_all, start_stream, text_of
from tests.generation.test_gpu_admission import (
    CHAT,
    DEADLINE,
    MODEL,
    gateway_over,
    started_queued,
    started_running,
    stream_events,
)
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)


async def providers(
    client: httpx.AsyncClient, sim: Any, backup: Any, **primary: Any
) -> tuple[str, str]:
    """A "backup" provider and a "primary" one that falls back to it."""
    made = await client.post(
        "/api/v1/llm-providers", json={"name": "backup", "base_url": backup.url}, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    body = {"name": "primary", "base_url": sim.url, "fallbacks": [{"provider": "backup"}]}
    made_primary = await client.post(
        "/api/v1/llm-providers", json={**body, **primary}, headers=ADMIN
    )
    assert made_primary.status_code == 201, made_primary.text
    return str(made_primary.json()["data"]["id"]), str(made.json()["data"]["id"])


@contextlib.contextmanager
def stopped(server: Any) -> Iterator[None]:
    """The simulator is down for the block (the primary provider is unreachable)."""
    server.stop()
    try:
        yield
    finally:
        server.start()


async def chat_through_fallback(
    client: httpx.AsyncClient, sim: Any, backup: Any, message: str
) -> tuple[list[tuple[int, str, dict[str, Any]]], list[dict[str, Any]]]:
    """A chat stream (the UI's) to a primary that is down: its events, then the stored
    messages of its conversation."""
    primary, _ = await providers(client, sim, backup)
    with stopped(sim):
        created = await start_stream(client, ADMIN, message=message, provider=primary, model=MODEL)
        events = await read_all(client, created["events_url"])
    return events, await messages_of(client, created["conversation_id"], ADMIN)


def done_of(events: list[tuple[str, Any]]) -> dict[str, Any]:
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done", events
    assert "error" not in kinds, events
    return dict(events[-1][1])


async def test_an_unreachable_provider_falls_back_and_says_who_answered(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(client, sim, second_sim)
        shown = (await client.get(f"/api/v1/llm-providers/{primary}", headers=ADMIN)).json()
        assert shown["data"]["fallbacks"] == [{"provider": "backup", "model": None}]
        with stopped(sim):
            events = await stream_events(client, ADMIN, "fb-stream", provider=primary)
            body = {
                "provider": primary,
                "model": MODEL,
                "messages": [{"role": "user", "content": "fb-once"}],
            }
            once = await client.post(CHAT, json=body, headers=ADMIN)
    served = done_of(events)["served_by"]
    assert served["provider"] == "backup" and served["model"] == MODEL
    assert served["server"] == second_sim.url
    assert served["fallback_from"] == [
        {"provider": "primary", "model": MODEL, "code": "provider_unavailable"}
    ]
    assert once.status_code == 200, once.text
    assert once.headers["X-Bigshot-Fallback"] == f"backup {MODEL}"
    assert once.headers["X-Bigshot-Served-By"] == f"{second_sim.url} {MODEL}"
    assert second_sim.state.served == ["fb-stream", "fb-once"]


async def test_a_5xx_falls_back_and_fallbacks_are_tried_in_order(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    """The first fallback (a model the primary does not have) fails too; the second answers."""
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(
            client,
            sim,
            second_sim,
            fallbacks=[{"model": "no-such-model"}, {"provider": "backup", "model": MODEL}],
        )
        sim.state.set_fault("http_500")
        try:
            events = await stream_events(client, ADMIN, "five-hundred", provider=primary)
        finally:
            sim.state.set_fault(None)
    served = done_of(events)["served_by"]
    assert served["provider"] == "backup"
    assert [(a["provider"], a["model"]) for a in served["fallback_from"]] == [
        ("primary", MODEL),
        ("primary", "no-such-model"),
    ]
    assert served["fallback_from"][0]["code"] == "bad_upstream_response"
    assert second_sim.state.served == ["five-hundred"] and sim.state.served == []


async def test_a_full_or_timed_out_gpu_queue_falls_back_to_another_provider(
    tmp_path: Path, sim: Any, second_sim: Any
) -> None:
    """One slot on the primary, busy, and a queue of two: a wait past its deadline, and a
    request finding the queue full, go to the backup (503/429 without fallbacks)."""
    sim.state.parallel = 1
    sim.state.paused = True
    with gateway_over(tmp_path, sim, second_sim, queue_max_per_model=2) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
            primary, _ = await providers(client, sim, second_sim)
            listed = await client.get(
                "/api/v1/llm-providers/models",
                params={"provider": primary, "detailed": "true", "refresh": "true"},
                headers=ADMIN,
            )
            assert listed.status_code == 200, listed.text

            def send(prompt: str, headers: dict[str, str] = ADMIN) -> Any:
                return asyncio.create_task(stream_events(client, headers, prompt, provider=primary))

            running = await started_running(client, sim, "p-run", provider=primary)
            waiting = [await started_queued(client, "p-wait-1", 1, provider=primary)]
            timed = await send("p-timeout", {**ADMIN, "X-Bigshot-Queue-Timeout": "0.3"})
            waiting.append(await started_queued(client, "p-wait-2", 2, provider=primary))
            full = await send("p-full")
            sim.state.paused = False
            ran = await asyncio.wait_for(asyncio.gather(running, *waiting), DEADLINE)
    assert all(done_of(events)["served_by"]["provider"] == "primary" for events in ran)
    timed_served = done_of(timed)["served_by"]
    assert timed_served["provider"] == "backup"
    assert timed_served["fallback_from"][0]["code"] == "queue_timeout"
    assert any(kind == "queued" for kind, _ in timed)  # it did wait on the primary first
    full_served = done_of(full)["served_by"]
    assert full_served["provider"] == "backup"
    assert full_served["fallback_from"][0]["code"] == "queue_full"
    assert sorted(second_sim.state.served) == ["p-full", "p-timeout"]
    assert sorted(sim.state.served) == ["p-run", "p-wait-1", "p-wait-2"]


async def test_no_fallback_after_the_first_byte(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(client, sim, second_sim)
        sim.state.set_fault("drop_mid_stream", after=2)
        try:
            events = await stream_events(client, ADMIN, "mid-stream", provider=primary)
        finally:
            sim.state.set_fault(None)
    kinds = [kind for kind, _ in events]
    assert "delta" in kinds and kinds[-1] == "error", kinds
    assert second_sim.state.served == []  # the client had tokens: no second generation


async def test_a_fallback_needs_a_provider_or_a_model(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        bad = await client.post(
            "/api/v1/llm-providers",
            json={"name": "p", "base_url": sim.url, "fallbacks": [{}]},
            headers=ADMIN,
        )
        assert bad.status_code == 422 and "fallbacks" in bad.text
        primary, _ = await providers(client, sim, second_sim)
        cleared = await client.patch(
            f"/api/v1/llm-providers/{primary}", json={"fallbacks": None}, headers=ADMIN
        )
        assert cleared.status_code == 200 and cleared.json()["data"]["fallbacks"] == []
        with stopped(sim):
            body = {
                "provider": primary,
                "model": MODEL,
                "stream": True,
                "messages": [{"role": "user", "content": "no-fallback"}],
            }
            refused = await client.post(CHAT, json=body, headers=ADMIN)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "provider_unavailable"
    assert second_sim.state.served == []


async def test_a_chat_stream_stores_the_fallbacks_answer(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    """The UI's chat streams too: the answer the backup gave is the one saved."""
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        events, messages = await chat_through_fallback(client, sim, second_sim, "chat-fallback")
    names = [name for _, name, _ in events]
    assert names[-1] == "done", names
    done = events[-1][2]
    assert done["served_by"]["provider"] == "backup"
    assert done["served_by"]["fallback_from"][0]["code"] == "provider_unavailable"
    answer = messages[-1]
    assert answer["role"] == "assistant" and answer["content"] == text_of(events) != ""
    assert second_sim.state.served == ["chat-fallback"]


async def test_the_stored_answer_keeps_where_it_was_served(
    two_sim_gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    """The UI shows "served by … after fallback from …" under an answer: after a reload too,
    so the stored message's stats carry the `done` event's `served_by`."""
    async with httpx.AsyncClient(base_url=two_sim_gateway.url, timeout=DEADLINE) as client:
        events, messages = await chat_through_fallback(client, sim, second_sim, "stored-served-by")
    done = events[-1][2]
    assert done["served_by"]["provider"] == "backup"
    assert messages[-1]["stats"]["served_by"] == done["served_by"]
