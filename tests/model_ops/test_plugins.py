"""A third-party provider plugin, installed with pip from tests/plugins/example_plugin and used
end to end: its kind is listed, a provider of that kind is created, and it answers through
the native and the OpenAI-compatible APIs, streaming and not."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.sse import SSEDecoder
from tests.conftest import ADMIN_KEY, auth
from tests.model_ops.conftest import sse_events
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
SAID = "the quick brown fox jumps"


@pytest.fixture
async def echo_provider(echo_plugin: str, gateway: ThreadedServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=10) as client:
        created = await client.post(
            "/api/v1/llm-providers",
            json={"name": "Echo", "kind": echo_plugin, "base_url": "http://127.0.0.1:9"},
        )
    assert created.status_code == 201, created.text
    return dict(created.json()["data"])


async def test_the_plugin_kind_is_listed(echo_plugin: str, gateway: ThreadedServer) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN) as client:
        kinds = {
            k["kind"]: k for k in (await client.get("/api/v1/llm-providers/kinds")).json()["data"]
        }
    assert kinds["echo"] == {
        "kind": "echo",
        "description": "Echo: answers with the last message, word by word when streaming.",
        "builtin": False,
        "supports_load": False,
    }
    assert kinds["lmstudio"]["builtin"] is True and kinds["lmstudio"]["supports_load"] is True
    assert kinds["openai_compatible"]["supports_load"] is False


async def test_native_api_chat_and_stream(
    gateway: ThreadedServer, echo_provider: dict[str, Any]
) -> None:
    messages = [{"role": "user", "content": SAID}]
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=10) as client:
        models = await client.get("/api/v1/llm-providers/models", params={"provider": "Echo"})
        assert [m["id"] for m in models.json()["data"]["models"]] == ["echo-1", "echo-shout"]
        body = {"provider": "Echo", "model": "echo-1", "messages": messages}
        answer = await client.post("/api/v1/llm-providers/chat/completions", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["message"]["content"] == SAID

        events = []
        stream_body = {**body, "model": "echo-shout", "stream": True}
        async with client.stream(
            "POST", "/api/v1/llm-providers/chat/completions", json=stream_body
        ) as response:
            assert response.status_code == 200
            async for name, data in sse_events(response):
                events.append((name, data))
    deltas = [d["text"] for n, d in events if n == "delta"]
    assert deltas == ["THE", " QUICK", " BROWN", " FOX", " JUMPS"]  # word by word
    assert events[-1][0] == "done"
    assert events[-1][1]["usage"] == {
        "prompt_tokens": 5,
        "completion_tokens": 5,
        "total_tokens": 10,
    }
    assert events[-1][1]["usage_estimated"] is False


async def test_openai_compatible_api_chat_and_stream(
    gateway: ThreadedServer, echo_provider: dict[str, Any]
) -> None:
    messages = [{"role": "user", "content": SAID}]
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=10) as client:
        listed = await client.get("/v1/models")
        assert "Echo/echo-1" in [m["id"] for m in listed.json()["data"]]
        answer = await client.post(
            "/v1/chat/completions", json={"model": "Echo/echo-1", "messages": messages}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == SAID

        chunks: list[Any] = []
        body = {
            "model": "Echo/echo-1",
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            decoder = SSEDecoder()
            async for raw in response.aiter_raw():
                chunks.extend(e.data for e in decoder.feed(raw))
    assert chunks[-1] == "[DONE]"
    parsed = [orjson.loads(c) for c in chunks[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in parsed if c.get("choices"))
    assert text == SAID
    assert parsed[-1]["usage"]["completion_tokens"] == 5


async def test_plugin_providers_cannot_load_models_and_can_be_compared(
    gateway: ThreadedServer, echo_provider: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=10) as client:
        load = await client.post("/api/v1/llm-providers/models/echo-1/load?provider=Echo")
        assert load.status_code == 409
        assert load.json()["error"]["code"] == "not_supported"
        body = {
            "prompt": "hello there",
            "targets": [
                {"provider": "Echo", "model": "echo-1"},
                {"provider": "Echo", "model": "echo-shout"},
            ],
        }
        async with client.stream("POST", "/api/v1/compare", json=body) as response:
            events = [e async for e in sse_events(response)]
    texts = {0: "", 1: ""}
    for name, data in events:
        if name == "delta":
            texts[data["target"]] += data["text"]
    assert texts == {0: "hello there", 1: "HELLO THERE"}
