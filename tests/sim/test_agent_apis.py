"""The simulator's `/v1/messages` and `/v1/responses`: on with `native_apis`, else a 404 as
llama.cpp answers; the same chat path as chat completions (text, tools, reasoning, stops)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bigshot_llm.sim import SimServer

TOOL = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.fixture
def native(sim: SimServer) -> SimServer:
    sim.state.native_apis = True
    return sim


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/responses"])
async def test_off_by_default_is_a_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json={"model": "qwen2.5-7b-instruct"})
    assert response.status_code == 404


async def test_message_has_the_chat_answer(native: SimServer, client: httpx.AsyncClient) -> None:
    chat = await client.post(
        "/v1/chat/completions",
        json={"model": "qwen3-8b", "messages": [{"role": "user", "content": "hi"}]},
    )
    message = await client.post(
        "/v1/messages",
        json={
            "model": "qwen3-8b",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    assert message.status_code == 200
    expected = chat.json()["choices"][0]["message"]
    thinking, text = message.json()["content"]
    assert thinking["thinking"] == expected["reasoning_content"]
    assert text["text"] == expected["content"]
    assert message.json()["usage"]["output_tokens"] == chat.json()["usage"]["completion_tokens"]


async def test_message_stream_sequence_and_stop_sequence(
    native: SimServer, client: httpx.AsyncClient
) -> None:
    whole = await client.post(
        "/v1/messages",
        json={
            "model": "qwen2.5-7b-instruct",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    word = whole.json()["content"][0]["text"].split()[3]
    body = {
        "model": "qwen2.5-7b-instruct",
        "max_tokens": 100,
        "stream": True,
        "stop_sequences": ["zzz-never", word],
        "messages": [{"role": "user", "content": "x"}],
    }
    response = await client.post("/v1/messages", json=body)
    kinds = [kind for kind, _ in events(response.text)]
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    delta = events(response.text)[-2][1]["delta"]
    assert delta == {"stop_reason": "stop_sequence", "stop_sequence": word}
    body["stream"] = False
    answer = (await client.post("/v1/messages", json=body)).json()
    assert answer["stop_sequence"] == word and word not in answer["content"][0]["text"]


async def test_message_tool_call_stream(native: SimServer, client: httpx.AsyncClient) -> None:
    body = {
        "model": "qwen2.5-7b-instruct",
        "max_tokens": 100,
        "stream": True,
        "tools": [TOOL],
        "messages": [{"role": "user", "content": "weather?"}],
    }
    found = events((await client.post("/v1/messages", json=body)).text)
    start = next(d for k, d in found if k == "content_block_start")
    assert start["content_block"]["type"] == "tool_use"
    assert start["content_block"]["name"] == "get_weather"
    arguments = "".join(d["delta"]["partial_json"] for k, d in found if k == "content_block_delta")
    assert json.loads(arguments) == {"city": "city"}
    assert found[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_responses_stream_numbers_every_event(
    native: SimServer, client: httpx.AsyncClient
) -> None:
    body = {"model": "qwen3-8b", "input": "hi", "stream": True}
    found = events((await client.post("/v1/responses", json=body)).text)
    assert [d["sequence_number"] for _, d in found] == list(range(len(found)))
    assert all(kind == d["type"] for kind, d in found)
    kinds = [kind for kind, _ in found]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_text.delta" in kinds and "response.output_text.delta" in kinds
    final = found[-1][1]["response"]
    assert [item["type"] for item in final["output"]] == ["reasoning", "message"]
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


async def test_responses_chain_and_unknown_previous(
    native: SimServer, client: httpx.AsyncClient
) -> None:
    first = await client.post("/v1/responses", json={"model": "qwen2.5-7b-instruct", "input": "a"})
    chained = await client.post(
        "/v1/responses",
        json={
            "model": "qwen2.5-7b-instruct",
            "input": "b",
            "previous_response_id": first.json()["id"],
        },
    )
    assert chained.status_code == 200
    assert native.state.last_request_body["previous_response_id"] == first.json()["id"]
    assert chained.json()["usage"]["input_tokens"] > first.json()["usage"]["input_tokens"]
    missing = await client.post(
        "/v1/responses",
        json={"model": "qwen2.5-7b-instruct", "input": "b", "previous_response_id": "resp_nope"},
    )
    assert missing.status_code == 404


async def test_error_event_fault_is_in_the_apis_shape(
    native: SimServer, client: httpx.AsyncClient
) -> None:
    native.state.set_fault("error_event", after=3)
    body = {"model": "qwen2.5-7b-instruct", "max_tokens": 50, "stream": True}
    body["messages"] = [{"role": "user", "content": "x"}]
    found = events((await client.post("/v1/messages", json=body)).text)
    assert found[-1][0] == "error" and found[-1][1]["error"]["type"] == "api_error"
