"""Chat streams and conversations with reasoning, tools, images and structured output: the
events a browser gets and what the conversation stores, against the simulator."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.conversations.helpers import STREAMS, messages_of, read_all, start_stream, text_of
from tests.support.images import CAT, image_host
from tests.support.servers import ThreadedServer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"image_fetch_allowed_hosts": "127.0.0.1"}


@pytest.fixture
def images() -> Iterator[ThreadedServer]:
    with image_host() as server:
        yield server


async def test_reasoning_streams_and_is_stored_with_the_answer(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    sim.state.reasoning_tokens = 4
    sim.state.tokens = 3
    sim.state.load_model("qwen3-8b")  # a user may not make a shared server load one
    created = await start_stream(client, user_headers, message="think first", model="qwen3-8b")
    events = await read_all(client, created["events_url"])
    names = [name for _, name, _ in events]
    assert names == ["reasoning"] * 4 + ["delta"] * 3 + ["done"]
    done = events[-1][2]
    assert done["reasoning_tokens"] == 4
    assert done["stats"]["time_to_answer_ms"] >= done["stats"]["ttft_ms"]
    reasoning = "".join(d["text"] for _, n, d in events if n == "reasoning")
    (_, answer) = await messages_of(client, created["conversation_id"], user_headers)
    assert answer["reasoning"] == reasoning and answer["content"] == text_of(events)
    assert answer["stats"]["reasoning_tokens"] == 4 and answer["tool_calls"] is None


async def test_think_tags_become_reasoning_in_conversations(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    sim.state.load_model("deepseek-r1-distill-qwen-7b")  # users may not make it load
    created = await start_stream(
        client, user_headers, message="hi", model="deepseek-r1-distill-qwen-7b"
    )
    events = await read_all(client, created["events_url"])
    assert "<think" not in text_of(events)
    (_, answer) = await messages_of(client, created["conversation_id"], user_headers)
    assert answer["reasoning"] and "</think>" not in answer["reasoning"]


async def test_a_tool_round_trip_in_a_conversation(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    created = await start_stream(
        client, user_headers, message="weather in Oslo?", tools=[WEATHER], tool_choice="auto"
    )
    events = await read_all(client, created["events_url"])
    (call,) = [d for _, n, d in events if n == "tool_call"]
    assert call["name"] == "get_weather" and call["id"].startswith("call_")
    assert orjson.loads(call["arguments"]) == {"city": "city"}
    assert events[-1][2]["finish_reason"] == "tool_calls"
    conversation = created["conversation_id"]
    (_, asked) = await messages_of(client, conversation, user_headers)
    assert asked["tool_calls"] == [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": "get_weather", "arguments": call["arguments"]},
        }
    ]

    follow = await start_stream(
        client,
        user_headers,
        conversation_id=conversation,
        tool_results=[{"tool_call_id": call["id"], "content": "sunny, 21 C"}],
        tools=[WEATHER],
    )
    answer_events = await read_all(client, follow["events_url"])
    assert text_of(answer_events).startswith("The tool said: sunny, 21 C.")
    sent = sim.state.last_request_body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == call["id"]
    assert sent[2] == {"role": "tool", "content": "sunny, 21 C", "tool_call_id": call["id"]}
    stored = await messages_of(client, conversation, user_headers)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[2]["tool_call_id"] == call["id"] and stored[2]["id"] == follow["user_message_id"]

    # The call is answered: answering it again is refused, naming the field.
    again = await client.post(
        STREAMS,
        json={
            "conversation_id": conversation,
            "tool_results": [{"tool_call_id": call["id"], "content": "x"}],
        },
        headers=user_headers,
    )
    assert again.status_code == 422, again.text
    assert again.json()["error"]["details"][0]["loc"] == ["body", "tool_results", 0, "tool_call_id"]


async def test_unanswered_tool_calls_are_left_out_of_the_next_prompt(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    created = await start_stream(client, user_headers, message="weather?", tools=[WEATHER])
    await read_all(client, created["events_url"])
    follow = await start_stream(
        client, user_headers, conversation_id=created["conversation_id"], message="never mind"
    )
    await read_all(client, follow["events_url"])
    sent = sim.state.last_request_body["messages"]
    # The call-only answer has no text: without its result it is not sent at all.
    assert [m["role"] for m in sent] == ["user", "user"]


async def test_images_in_a_conversation_are_inlined_and_stored(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any, images: ThreadedServer
) -> None:
    parts = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"{images.url}/cat.png"}},
    ]
    sim.state.load_model("gemma-3-4b-it")  # a user may not make a shared server load one
    created = await start_stream(client, user_headers, message=parts, model="gemma-3-4b-it")
    events = await read_all(client, created["events_url"])
    assert text_of(events).startswith(f"I see 1 image(s): image/png of {len(CAT)} bytes.")
    inline = "data:image/png;base64," + base64.b64encode(CAT).decode()
    (question, _) = await messages_of(client, created["conversation_id"], user_headers)
    assert question["content"] == "What is this?"
    assert question["parts"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": inline}},
    ]
    # The next turn sends the stored (inlined) image again, fetched no more.
    follow = await start_stream(
        client, user_headers, conversation_id=created["conversation_id"], message="And now?"
    )
    await read_all(client, follow["events_url"])
    first = sim.state.last_request_body["messages"][0]
    assert first["content"][1]["image_url"]["url"] == inline


async def test_images_for_a_model_without_vision_are_refused_before_storing(
    client: httpx.AsyncClient, user_headers: dict[str, str], images: ThreadedServer
) -> None:
    parts = [{"type": "image_url", "image_url": {"url": f"{images.url}/cat.png"}}]
    response = await client.post(
        STREAMS,
        json={"message": parts, "model": "qwen2.5-7b-instruct"},
        headers=user_headers,
    )
    assert response.status_code == 422, response.text
    assert "qwen2.5-7b-instruct" in response.json()["error"]["message"]
    listed = await client.get("/api/v1/conversations", headers=user_headers)
    assert listed.json()["data"]["total"] == 0


async def test_structured_output_and_reasoning_effort_in_streams(
    client: httpx.AsyncClient, user_headers: dict[str, str], sim: Any
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    created = await start_stream(
        client,
        user_headers,
        message="a number",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "n", "schema": schema, "strict": True},
        },
    )
    events = await read_all(client, created["events_url"])
    done = events[-1][2]
    assert done["parsed"] == {"n": 7} and done["parse_error"] is None
    (_, answer) = await messages_of(client, created["conversation_id"], user_headers)
    assert answer["stats"]["parsed"] == {"n": 7}

    response = await client.post(
        STREAMS,
        json={"message": "hi", "model": "qwen2.5-7b-instruct", "reasoning_effort": "low"},
        headers=user_headers,
    )
    assert response.status_code == 201, response.text
    assert "has no reasoning options" in response.headers["x-bigshot-warning"]
    await read_all(client, response.json()["data"]["events_url"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "give `message` or `tool_results`"),
        ({"message": "   "}, "must not be empty"),
        ({"tool_results": [{"tool_call_id": "a", "content": "x"}]}, "give its id"),
        ({"message": [{"type": "text", "text": " "}]}, "must not be empty"),
    ],
)
async def test_bad_stream_requests_are_422(
    client: httpx.AsyncClient, user_headers: dict[str, str], body: dict[str, Any], reason: str
) -> None:
    response = await client.post(STREAMS, json=body, headers=user_headers)
    assert response.status_code == 422, response.text
    assert reason in response.text
