"""Tools and images on the native API and `/v1`, against the simulator's tool-calling model
(LM Studio's quirks: empty ids, `tool_calls: []` everywhere) and its vision model (base64
data URLs only), with remote images served from a loopback host."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.sse import SSEDecoder
from tests.api.test_llm_endpoints import ADMIN, BASE, sse_events
from tests.support.images import CAT, image_host
from tests.support.servers import ThreadedServer

CHAT = f"{BASE}/chat/completions"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def images() -> Iterator[ThreadedServer]:
    with image_host() as server:
        yield server


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"image_fetch_allowed_hosts": "127.0.0.1", "image_max_bytes": 100_000}


def image_message(url: str, text: str = "What is in this picture?") -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": text},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


async def test_tool_calls_non_streaming_are_repaired(client: httpx.AsyncClient, sim: Any) -> None:
    response = await client.post(
        CHAT, json={"messages": ASK, "tools": [WEATHER, CLOCK]}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["finish_reason"] == "tool_calls"
    (call,) = data["message"]["tool_calls"]
    assert call["id"].startswith("call_")  # LM Studio sent ""
    assert call["function"]["name"] == "get_weather"
    assert orjson.loads(call["function"]["arguments"]) == {"city": "city", "days": 7}
    assert sim.state.last_request_body["tools"] == [WEATHER, CLOCK]


async def test_plain_answers_drop_the_empty_tool_calls(client: httpx.AsyncClient) -> None:
    response = await client.post(CHAT, json={"messages": ASK}, headers=ADMIN)
    assert response.status_code == 200
    assert "tool_calls" not in response.json()["data"]["message"]


async def test_tool_calls_stream_whole_with_arguments_assembled(client: httpx.AsyncClient) -> None:
    both = [{"role": "user", "content": "get_weather and get_time please"}]
    response = await client.post(
        CHAT, json={"messages": both, "tools": [WEATHER, CLOCK], "stream": True}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    events = sse_events(response.content)
    calls = [d for n, d, _ in events if n == "tool_call"]
    assert [c["index"] for c in calls] == [0, 1]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert orjson.loads(calls[0]["arguments"]) == {"city": "city", "days": 7}
    assert orjson.loads(calls[1]["arguments"]) == {}
    ids = {c["id"] for c in calls}
    assert len(ids) == 2 and all(i.startswith("call_") for i in ids)
    assert events[-1][0] == "done" and events[-1][1]["finish_reason"] == "tool_calls"
    assert "delta" not in [n for n, _, _ in events]


async def test_tool_choice_and_tool_results(client: httpx.AsyncClient, sim: Any) -> None:
    named = {"type": "function", "function": {"name": "get_time"}}
    response = await client.post(
        CHAT, json={"messages": ASK, "tools": [WEATHER, CLOCK], "tool_choice": named},
        headers=ADMIN,
    )  # fmt: skip
    (call,) = response.json()["data"]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_time"
    history = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "12:30"},
    ]
    answer = await client.post(
        CHAT, json={"messages": history, "tools": [WEATHER, CLOCK]}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["finish_reason"] == "stop" and "The tool said: 12:30." in data["message"]["content"]
    sent = sim.state.last_request_body["messages"]
    assert sent[1] == {"role": "assistant", "content": None, "tool_calls": [call]}
    assert sent[2] == {"role": "tool", "tool_call_id": call["id"], "content": "12:30"}
    none = await client.post(
        CHAT, json={"messages": ASK, "tools": [WEATHER], "tool_choice": "none"}, headers=ADMIN
    )
    assert "tool_calls" not in none.json()["data"]["message"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
        ({"messages": [{"role": "user", "content": "x", "tool_call_id": "a"}]}, "tool_call_id"),
        ({"messages": ASK, "tool_choice": "required"}, "tool_choice needs tools"),
        (
            {"messages": ASK, "tools": [WEATHER],
             "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "not one of tools",
        ),
        ({"messages": ASK, "tools": [{"type": "function", "function": {"name": "a b"}}]}, "name"),
        ({"messages": [{"role": "assistant"}]}, "content is required"),
        (
            {"messages": [{"role": "system", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}]},
            "only user messages",
        ),
    ],
)  # fmt: skip
async def test_bad_tool_fields_are_422(
    client: httpx.AsyncClient, body: dict[str, Any], reason: str
) -> None:
    response = await client.post(CHAT, json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert reason in response.text


async def test_remote_image_is_inlined_for_lm_studio(
    client: httpx.AsyncClient, sim: Any, images: ThreadedServer
) -> None:
    url = f"{images.url}/cat.png"
    response = await client.post(
        CHAT, json={"model": "gemma-3-4b-it", "messages": image_message(url)}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    content = response.json()["data"]["message"]["content"]
    assert content.startswith(f"I see 1 image(s): image/png of {len(CAT)} bytes.")
    sent = sim.state.last_request_body["messages"][0]["content"][1]["image_url"]["url"]
    assert sent == "data:image/png;base64," + base64.b64encode(CAT).decode()


async def test_redirects_are_followed_and_data_urls_pass(
    client: httpx.AsyncClient, sim: Any, images: ThreadedServer
) -> None:
    moved = await client.post(
        CHAT,
        json={"model": "gemma-3-4b-it", "messages": image_message(f"{images.url}/moved")},
        headers=ADMIN,
    )
    assert moved.status_code == 200, moved.text
    data_url = "data:image/png;base64," + base64.b64encode(CAT).decode()
    direct = await client.post(
        CHAT, json={"model": "gemma-3-4b-it", "messages": image_message(data_url)}, headers=ADMIN
    )
    assert direct.status_code == 200
    assert sim.state.last_request_body["messages"][0]["content"][1]["image_url"]["url"] == data_url


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/big.png", "larger than 100000 bytes"),
        ("/page.html", "Content-Type text/html"),
        ("/disguised.png", "not a PNG, JPEG"),
        ("/missing.png", "HTTP 404"),
        ("/loop", "redirected more than 3 times"),
    ],
)
async def test_bad_remote_images_are_422_naming_the_field(
    client: httpx.AsyncClient, sim: Any, images: ThreadedServer, path: str, reason: str
) -> None:
    before = sim.state.requests_by_path.get("/v1/chat/completions", 0)
    response = await client.post(
        CHAT,
        json={"model": "gemma-3-4b-it", "messages": image_message(images.url + path)},
        headers=ADMIN,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert reason in error["message"]
    assert error["details"][0]["loc"] == ["body", "messages", 0, "content", 1, "image_url", "url"]
    assert sim.state.requests_by_path.get("/v1/chat/completions", 0) == before  # never sent


async def test_images_to_a_model_without_vision_are_422_naming_it(
    client: httpx.AsyncClient, images: ThreadedServer
) -> None:
    response = await client.post(
        CHAT,
        json={"model": "qwen2.5-7b-instruct", "messages": image_message(f"{images.url}/cat.png")},
        headers=ADMIN,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "model_without_vision" and "qwen2.5-7b-instruct" in error["message"]


async def test_v1_inlines_images_too(
    client: httpx.AsyncClient, sim: Any, images: ThreadedServer
) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "gemma-3-4b-it", "messages": image_message(f"{images.url}/cat.png")},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    sent = sim.state.last_request_body["messages"][0]["content"][1]["image_url"]["url"]
    assert sent.startswith("data:image/png;base64,")
    refused = await client.post(
        "/v1/chat/completions",
        json={"model": "qwen2.5-7b-instruct", "messages": image_message(f"{images.url}/cat.png")},
        headers=ADMIN,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "model_without_vision"


def data_frames(body: bytes) -> list[Any]:
    decoder = SSEDecoder()
    events = decoder.feed(body) + decoder.feed(b"\n\n")
    return [orjson.loads(e.data) for e in events if e.data and e.data != "[DONE]"]


async def test_v1_relays_tool_call_bytes_unchanged_by_default(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json={"messages": ASK, "tools": [WEATHER], "stream": True},
        headers=ADMIN,
    )
    chunks = data_frames(response.content)
    deltas = [c["choices"][0]["delta"] for c in chunks if c.get("choices")]
    assert all("tool_calls" in d for d in deltas)  # LM Studio's `[]` everywhere, as sent
    heads = [d["tool_calls"][0] for d in deltas if d["tool_calls"] and "id" in d["tool_calls"][0]]
    assert heads and heads[0]["id"] == ""


async def test_v1_repair_fills_ids_drops_empty_lists_and_splits_think(
    client: httpx.AsyncClient, sim: Any
) -> None:
    created = await client.post(
        BASE, json={"name": "fixed", "base_url": sim.url, "repair_v1": True}, headers=ADMIN
    )
    assert created.status_code == 201 and created.json()["data"]["repair_v1"] is True
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "fixed/qwen2.5-7b-instruct", "messages": ASK, "tools": [WEATHER],
              "stream": True},
        headers=ADMIN,
    )  # fmt: skip
    chunks = data_frames(response.content)
    deltas = [c["choices"][0]["delta"] for c in chunks if c.get("choices")]
    assert not any(d.get("tool_calls") == [] for d in deltas)
    fragments = [f for d in deltas for f in d.get("tool_calls") or ()]
    assert fragments[0]["id"].startswith("call_") and fragments[0]["function"]["name"]
    assert all("id" not in f for f in fragments[1:])
    arguments = "".join(f["function"]["arguments"] for f in fragments)
    assert orjson.loads(arguments) == {"city": "city", "days": 7}
    reasons = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
    assert [r for r in reasons if r] == ["tool_calls"]

    thinking = await client.post(
        "/v1/chat/completions",
        json={"model": "fixed/deepseek-r1-distill-qwen-7b", "messages": ASK, "stream": True},
        headers=ADMIN,
    )
    deltas = [c["choices"][0]["delta"] for c in data_frames(thinking.content) if c.get("choices")]
    content = "".join(d.get("content") or "" for d in deltas)
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert reasoning and "<think>" not in content and content

    counted = await client.post(
        "/v1/chat/completions",
        json={"model": "fixed/qwen2.5-7b-instruct", "messages": ASK, "tools": [WEATHER],
              "stream": True, "stream_options": {"include_usage": True}},
        headers=ADMIN,
    )  # fmt: skip
    usages = [c["usage"] for c in data_frames(counted.content) if c.get("usage")]
    assert len(usages) == 1 and usages[0]["completion_tokens"] > 0  # upstream's, once

    whole = await client.post(
        "/v1/chat/completions",
        json={"model": "fixed/qwen2.5-7b-instruct", "messages": ASK, "tools": [WEATHER]},
        headers=ADMIN,
    )
    (call,) = whole.json()["choices"][0]["message"]["tool_calls"]
    assert call["id"].startswith("call_")
