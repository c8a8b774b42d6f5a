"""What the gateway actually streams matches the published event models (`schemas.events`,
`x-events` in OpenAPI): every event of the native API, chat streams and compare, with
reasoning, tool calls, structured output and errors, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import BaseModel

from bigshot_llm.main import create_app
from bigshot_llm.schemas.events import CHAT_EVENTS, COMPARE_EVENTS, NATIVE_EVENTS, EventModels
from bigshot_llm.sse import SSEDecoder
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
CHAT = "/api/v1/llm-providers/chat/completions"
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
STRICT = {
    "type": "json_schema",
    "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True},
}


@pytest.fixture
def gateway(tmp_path: Path, sim: Any) -> Iterator[ThreadedServer]:
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1")
    with ThreadedServer(create_app(settings)) as server:
        yield server


def events_of(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    decoder = SSEDecoder()
    found = decoder.feed(body) + decoder.feed(b"\n\n")
    return [(e.event or "message", orjson.loads(e.data)) for e in found if e.data]


def fields_of(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def check(events: list[tuple[str, dict[str, Any]]], models: EventModels) -> set[str]:
    """Every event is a published one, validates, and sends no undocumented field."""
    for name, data in events:
        assert name in models, f"undocumented event {name!r}"
        model = models[name]
        model.model_validate(data)
        extra = set(data) - fields_of(model)
        assert not extra, f"{name} sends undocumented fields {extra}"
    return {name for name, _ in events}


async def test_native_streams_send_only_published_events(gateway: ThreadedServer, sim: Any) -> None:
    seen: set[str] = set()
    bodies = [
        {"model": "qwen3-8b", "messages": [{"role": "user", "content": "hi"}]},
        {"messages": [{"role": "user", "content": "lookup"}], "tools": [TOOL]},
        {"messages": [{"role": "user", "content": "json"}], "response_format": STRICT},
    ]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        for body in bodies:
            response = await client.post(CHAT, json={**body, "stream": True}, headers=ADMIN)
            assert response.status_code == 200, response.text
            seen |= check(events_of(response.content), NATIVE_EVENTS)
        sim.state.set_fault("error_event", after=3, count=1)
        failed = await client.post(
            CHAT, json={**bodies[0], "stream": True, "model": "qwen2.5-7b-instruct"}, headers=ADMIN
        )
        seen |= check(events_of(failed.content), NATIVE_EVENTS)
    assert seen == set(NATIVE_EVENTS) - WAITING  # those: the next test


WAITING = {"queued", "loading"}


async def test_queued_and_loading_events_are_published(gateway: ThreadedServer, sim: Any) -> None:
    """A stream that waits for a slot (`queued`) and for a model load (`loading`, exclusive
    policy), its `done` naming where it ran."""
    import asyncio

    sim.state.parallel, sim.state.paused, sim.state.auto_evict = 1, True, False
    sim.state.load_delay = 0.6
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        await client.get("/api/v1/llm-providers/models?detailed=true", headers=ADMIN)
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        holder = asyncio.create_task(client.post(CHAT, json=body, headers=ADMIN))
        await sim.state.wait_for_async(lambda: sim.state.generating == 1, timeout=60)
        waiter = asyncio.create_task(client.post(CHAT, json=body, headers=ADMIN))
        for _ in range(3000):  # until the gateway reports it queued (generous on a busy box)
            rows = (await client.get("/api/v1/llm-providers/capacity", headers=ADMIN)).json()
            if any(row["queued"] == 1 for row in rows["data"]):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the second stream never queued")
        sim.state.paused = False
        seen = set()
        for response in await asyncio.gather(holder, waiter):
            seen |= check(events_of(response.content), NATIVE_EVENTS)
        providers = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
        await client.patch(
            f"/api/v1/llm-providers/{providers[0]['id']}",
            json={"exclusive_loading": True},
            headers=ADMIN,
        )
        loaded = await client.post(
            CHAT, json={**body, "model": "llama-3.2-1b-instruct"}, headers=ADMIN
        )
        seen |= check(events_of(loaded.content), NATIVE_EVENTS)
    assert WAITING | {"delta", "done"} <= seen


async def test_chat_stream_and_compare_events_are_published(gateway: ThreadedServer) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        seen: set[str] = set()
        for extra in ({"model": "qwen3-8b"}, {"tools": [TOOL]}):
            created = await client.post(
                "/api/v1/chat/streams", json={"message": "lookup", **extra}, headers=ADMIN
            )
            assert created.status_code == 201, created.text
            events = await client.get(created.json()["data"]["events_url"])
            seen |= check(events_of(events.content), CHAT_EVENTS)
        assert seen == {"reasoning", "delta", "tool_call", "done"}

        compared = await client.post(
            "/api/v1/compare",
            json={
                "prompt": "lookup",
                "params": {"tools": [TOOL]},
                "targets": [
                    {"provider": "LMStudio Local", "model": "qwen3-8b"},
                    {"provider": "nope", "model": "x"},
                ],
            },
            headers=ADMIN,
        )
        assert compared.status_code == 200, compared.text
        seen = check(events_of(compared.content), COMPARE_EVENTS)
        assert seen == {"start", "reasoning", "tool_call", "done", "error", "end"}


def test_openapi_names_the_new_events(tmp_path: Path) -> None:
    schema = create_app(make_settings(tmp_path)).openapi()
    for path in (CHAT, "/api/v1/chat/streams/{stream_id}/events", "/api/v1/compare"):
        operation = schema["paths"][path].get("post") or schema["paths"][path]["get"]
        events = operation["responses"]["200"]["content"]["text/event-stream"]["x-events"]
        assert {"reasoning", "tool_call"} <= set(events), path
    components = schema["components"]["schemas"]
    assert set(components["ToolCallEvent"]["properties"]) == {
        "index", "id", "type", "name", "arguments",
    }  # fmt: skip
    assert "time_to_answer_ms" in components["StreamTimings"]["properties"]
