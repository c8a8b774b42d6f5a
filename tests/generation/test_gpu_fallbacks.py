"""Fallbacks before the first byte, against two simulators over real sockets: a provider that
is unreachable, answers 5xx, has its GPU queue full or timed out, or lacks the model hands the
request to its fallbacks in order, and the answer names the target that served it (the
`done` event's `served_by`, the `X-Bigshot-Served-By`/`X-Bigshot-Fallback` headers). After
the first byte, never."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.sim.testing import running_sim
from tests.conftest import ADMIN_KEY, auth
from tests.conversations.helpers import messages_of, read_all, start_stream, text_of
from tests.generation.test_gpu_admission import (
    CHAT,
    DEADLINE,
    MODEL,
    gateway_for,
    queued,
    stream_events,
    wait_until,
)
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)


@pytest.fixture
def backup() -> Iterator[Any]:
    with running_sim(seed="backup") as server:
        yield server


@pytest.fixture
def gateway(tmp_path: Path, sim: Any, backup: Any) -> Iterator[ThreadedServer]:
    hosts = ",".join(f"127.0.0.1:{s.port}" for s in (sim, backup))
    with gateway_for(tmp_path, sim, allowed_upstream_hosts=hosts) as server:
        yield server


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


def done_of(events: list[tuple[str, Any]]) -> dict[str, Any]:
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done", events
    assert "error" not in kinds, events
    return dict(events[-1][1])


async def test_an_unreachable_provider_falls_back_and_says_who_answered(
    gateway: ThreadedServer, sim: Any, backup: Any
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(client, sim, backup)
        shown = (await client.get(f"/api/v1/llm-providers/{primary}", headers=ADMIN)).json()
        assert shown["data"]["fallbacks"] == [{"provider": "backup", "model": None}]
        sim.stop()
        try:
            events = await stream_events(client, ADMIN, "fb-stream", provider=primary)
            body = {
                "provider": primary,
                "model": MODEL,
                "messages": [{"role": "user", "content": "fb-once"}],
            }
            once = await client.post(CHAT, json=body, headers=ADMIN)
        finally:
            sim.start()
    served = done_of(events)["served_by"]
    assert served["provider"] == "backup" and served["model"] == MODEL
    assert served["server"] == backup.url
    assert served["fallback_from"] == [
        {"provider": "primary", "model": MODEL, "code": "provider_unavailable"}
    ]
    assert once.status_code == 200, once.text
    assert once.headers["X-Bigshot-Fallback"] == f"backup {MODEL}"
    assert once.headers["X-Bigshot-Served-By"] == f"{backup.url} {MODEL}"
    assert backup.state.served == ["fb-stream", "fb-once"]


async def test_a_5xx_falls_back_and_fallbacks_are_tried_in_order(
    gateway: ThreadedServer, sim: Any, backup: Any
) -> None:
    """The first fallback (a model the primary does not have) fails too; the second answers."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(
            client,
            sim,
            backup,
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
    assert backup.state.served == ["five-hundred"] and sim.state.served == []


async def test_a_full_or_timed_out_gpu_queue_falls_back_to_another_provider(
    tmp_path: Path, sim: Any, backup: Any
) -> None:
    """One slot on the primary, busy, and a queue of two: a wait past its deadline, and a
    request finding the queue full, go to the backup (503/429 without fallbacks)."""
    hosts = ",".join(f"127.0.0.1:{s.port}" for s in (sim, backup))
    sim.state.parallel = 1
    sim.state.paused = True
    with gateway_for(tmp_path, sim, allowed_upstream_hosts=hosts, queue_max_per_model=2) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
            primary, _ = await providers(client, sim, backup)
            listed = await client.get(
                "/api/v1/llm-providers/models",
                params={"provider": primary, "detailed": "true", "refresh": "true"},
                headers=ADMIN,
            )
            assert listed.status_code == 200, listed.text

            def send(prompt: str, headers: dict[str, str] = ADMIN) -> Any:
                return asyncio.create_task(stream_events(client, headers, prompt, provider=primary))

            running = send("p-run")
            await wait_until(lambda: sim.state.generating == 1, "the primary's one slot in use")
            waiting = [send("p-wait-1")]
            await wait_until(lambda: queued(client, 1), "one request queued")
            timed = await send("p-timeout", {**ADMIN, "X-Bigshot-Queue-Timeout": "0.3"})
            waiting.append(send("p-wait-2"))
            await wait_until(lambda: queued(client, 2), "the queue full")
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
    assert sorted(backup.state.served) == ["p-full", "p-timeout"]
    assert sorted(sim.state.served) == ["p-run", "p-wait-1", "p-wait-2"]


async def test_no_fallback_after_the_first_byte(
    gateway: ThreadedServer, sim: Any, backup: Any
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(client, sim, backup)
        sim.state.set_fault("drop_mid_stream", after=2)
        try:
            events = await stream_events(client, ADMIN, "mid-stream", provider=primary)
        finally:
            sim.state.set_fault(None)
    kinds = [kind for kind, _ in events]
    assert "delta" in kinds and kinds[-1] == "error", kinds
    assert backup.state.served == []  # the client had tokens: no second generation


async def test_a_fallback_needs_a_provider_or_a_model(
    gateway: ThreadedServer, sim: Any, backup: Any
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        bad = await client.post(
            "/api/v1/llm-providers",
            json={"name": "p", "base_url": sim.url, "fallbacks": [{}]},
            headers=ADMIN,
        )
        assert bad.status_code == 422 and "fallbacks" in bad.text
        primary, _ = await providers(client, sim, backup)
        cleared = await client.patch(
            f"/api/v1/llm-providers/{primary}", json={"fallbacks": None}, headers=ADMIN
        )
        assert cleared.status_code == 200 and cleared.json()["data"]["fallbacks"] == []
        sim.stop()
        try:
            body = {
                "provider": primary,
                "model": MODEL,
                "stream": True,
                "messages": [{"role": "user", "content": "no-fallback"}],
            }
            refused = await client.post(CHAT, json=body, headers=ADMIN)
        finally:
            sim.start()
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "provider_unavailable"
    assert backup.state.served == []


async def test_a_chat_stream_stores_the_fallbacks_answer(
    gateway: ThreadedServer, sim: Any, backup: Any
) -> None:
    """The UI's chat streams too: the answer the backup gave is the one saved."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(client, sim, backup)
        sim.stop()
        try:
            created = await start_stream(
                client, ADMIN, message="chat-fallback", provider=primary, model=MODEL
            )
            events = await read_all(client, created["events_url"])
        finally:
            sim.start()
        messages = await messages_of(client, created["conversation_id"], ADMIN)
    names = [name for _, name, _ in events]
    assert names[-1] == "done", names
    done = events[-1][2]
    assert done["served_by"]["provider"] == "backup"
    assert done["served_by"]["fallback_from"][0]["code"] == "provider_unavailable"
    answer = messages[-1]
    assert answer["role"] == "assistant" and answer["content"] == text_of(events) != ""
    assert backup.state.served == ["chat-fallback"]


async def test_the_stored_answer_keeps_where_it_was_served(
    gateway: ThreadedServer, sim: Any, backup: Any
) -> None:
    """The UI shows "served by … after fallback from …" under an answer: after a reload too,
    so the stored message's stats carry the `done` event's `served_by`."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        primary, _ = await providers(client, sim, backup)
        sim.stop()
        try:
            created = await start_stream(
                client, ADMIN, message="stored-served-by", provider=primary, model=MODEL
            )
            events = await read_all(client, created["events_url"])
        finally:
            sim.start()
        messages = await messages_of(client, created["conversation_id"], ADMIN)
    done = events[-1][2]
    assert done["served_by"]["provider"] == "backup"
    assert messages[-1]["stats"]["served_by"] == done["served_by"]
