"""The native streams send what `schemas.events` says, and the OpenAPI schema says it too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from bigshot_llm.schemas.events import CHAT_EVENTS, COMPARE_EVENTS, NATIVE_EVENTS
from tests.conftest import ADMIN_KEY, auth
from tests.conversations.helpers import parse_events, read_all, start_stream

ADMIN = auth(ADMIN_KEY)


def strict(model: type[BaseModel]) -> type[BaseModel]:
    """The model refusing fields it does not declare: an undocumented field fails."""
    return type(f"Strict{model.__name__}", (model,), {"model_config": {"extra": "forbid"}})


def check(
    events: list[tuple[int, str, dict[str, Any]]], models: dict[str, type[BaseModel]]
) -> list[str]:
    names = []
    for _, name, data in events:
        assert name in models, f"undocumented event {name!r}"
        strict(models[name]).model_validate(data)
        names.append(name)
    return names


async def test_native_stream_events_match_their_models(client: httpx.AsyncClient) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = await client.post("/api/v1/llm-providers/chat/completions", json=body, headers=ADMIN)
    names = check(parse_events(response.content), NATIVE_EVENTS)
    assert names[0] == "delta" and names[-1] == "done"


async def test_a_failed_stream_ends_with_a_documented_error(
    client: httpx.AsyncClient, sim: Any
) -> None:
    sim.state.set_fault("drop_mid_stream", after=2)
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = await client.post("/api/v1/llm-providers/chat/completions", json=body, headers=ADMIN)
    assert check(parse_events(response.content), NATIVE_EVENTS)[-1] == "error"


async def test_chat_stream_events_match_their_models(client: httpx.AsyncClient) -> None:
    created = await start_stream(client, ADMIN, message="hello")
    names = check(await read_all(client, created["events_url"]), CHAT_EVENTS)
    assert names[-1] == "done"


async def test_compare_events_match_their_models(client: httpx.AsyncClient) -> None:
    body = {
        "prompt": "x",
        "targets": [
            {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
            {"provider": "LMStudio Local", "model": "no-such-model"},
        ],
    }
    response = await client.post("/api/v1/compare", json=body, headers=ADMIN)
    names = check(parse_events(response.content), COMPARE_EVENTS)
    assert names[0] == "start" and names[-1] == "end" and "error" in names and "done" in names


def test_a_strict_model_refuses_an_undocumented_field() -> None:
    with pytest.raises(ValidationError):
        strict(NATIVE_EVENTS["delta"]).model_validate({"text": "a", "surprise": 1})


def test_openapi_names_each_streams_events(app: Any) -> None:
    schema = app.openapi()
    components = schema["components"]["schemas"]
    streams = {
        ("/api/v1/llm-providers/chat/completions", "post"): NATIVE_EVENTS,
        ("/api/v1/chat/streams/{stream_id}/events", "get"): CHAT_EVENTS,
        ("/api/v1/compare", "post"): COMPARE_EVENTS,
    }
    for (path, method), models in streams.items():
        content = schema["paths"][path][method]["responses"]["200"]["content"]
        listed = content["text/event-stream"]["x-events"]
        assert set(listed) == set(models), path
        for name, ref in listed.items():
            component = ref["$ref"].rsplit("/", 1)[-1]
            assert component == models[name].__name__ and component in components
