"""`POST /v1/responses` (and GET/DELETE) through the official `openai` SDK on a real socket,
with the simulator (a chat-completions upstream) behind: text, streaming events, tools in a
multi-turn loop (function_call / function_call_output), reasoning, images, structured output,
stored responses chained with `previous_response_id`, owner scoping and errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.agents.conftest import CHAT_MODEL, REASONING_MODEL, VISION_MODEL, agent_path, sse_events
from tests.support.images import png

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_plain_text(codex: OpenAI) -> None:
    response = codex.responses.create(
        model=CHAT_MODEL, instructions="Be terse.", input="Say hello.", max_output_tokens=64
    )
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.model == CHAT_MODEL
    assert response.output_text
    [item] = response.output
    assert item.type == "message" and item.role == "assistant"  # type: ignore[union-attr]
    assert response.usage is not None and response.usage.output_tokens > 0


def test_stream_event_sequence(codex: OpenAI) -> None:
    with codex.responses.stream(model=CHAT_MODEL, input="Hello") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    for expected in (
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ):
        assert expected in kinds, expected
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text and final.output_text == text
    assert final.status == "completed"


def test_raw_frames_name_their_events(http: httpx.Client) -> None:
    response = http.post("/v1/responses", json={"model": CHAT_MODEL, "input": "Hi", "stream": True})
    assert response.status_code == 200
    events = [(n, json.loads(d)) for n, d in sse_events(response.text)]
    assert events and all(name == data["type"] for name, data in events)


@pytest.mark.parametrize("stream", [False, True])
def test_function_call_loop(codex: OpenAI, stream: bool, upstream: str, sim: Any) -> None:
    """Codex's loop: a function_call, then the client's function_call_output with the
    whole input replayed, then a text answer quoting the result; on a chat-only upstream and
    a native one."""
    items: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        with codex.responses.stream(model=CHAT_MODEL, input=items, tools=[WEATHER_TOOL]) as s:
            kinds = [e.type for e in s]
            first = s.get_final_response()
        assert "response.function_call_arguments.delta" in kinds
        assert "response.function_call_arguments.done" in kinds
    else:
        first = codex.responses.create(model=CHAT_MODEL, input=items, tools=[WEATHER_TOOL])
    [call] = [o for o in first.output if o.type == "function_call"]
    assert call.name == "get_weather" and call.call_id
    assert "city" in json.loads(call.arguments)
    items += [
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"},
    ]
    second = codex.responses.create(model=CHAT_MODEL, input=items, tools=[WEATHER_TOOL])
    assert "sunny, 21 C" in second.output_text
    agent_path(sim, upstream, "/v1/responses")


def test_previous_response_id_chains_on_a_chat_only_upstream(codex: OpenAI) -> None:
    first = codex.responses.create(
        model=CHAT_MODEL, input="Weather in Paris?", tools=[WEATHER_TOOL]
    )
    [call] = [o for o in first.output if o.type == "function_call"]
    second = codex.responses.create(
        model=CHAT_MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rain, 9 C"}],
        tools=[WEATHER_TOOL],
    )
    assert second.previous_response_id == first.id
    assert "rain, 9 C" in second.output_text

    fetched = codex.responses.retrieve(second.id)
    assert fetched.id == second.id and fetched.output_text == second.output_text


def test_store_false_is_not_kept(codex: OpenAI) -> None:
    response = codex.responses.create(model=CHAT_MODEL, input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        codex.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        codex.responses.create(model=CHAT_MODEL, input="again", previous_response_id=response.id)
    assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_delete_and_owner_scope(codex: OpenAI, gateway: Any, http: httpx.Client) -> None:
    response = codex.responses.create(model=CHAT_MODEL, input="hi")
    made = http.post("/api/v1/keys", json={"name": "bob-key", "user": "bob", "role": "user"})
    assert made.status_code == 201, made.text
    with OpenAI(
        base_url=f"{gateway.url}/v1", api_key=made.json()["data"]["key"], max_retries=0
    ) as bob:
        with pytest.raises(openai.NotFoundError):
            bob.responses.retrieve(response.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.delete(response.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.create(model=CHAT_MODEL, input="x", previous_response_id=response.id)
    assert codex.responses.retrieve(response.id).id == response.id
    codex.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        codex.responses.retrieve(response.id)


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_items(codex: OpenAI, stream: bool) -> None:
    params: dict[str, Any] = {
        "model": REASONING_MODEL,
        "input": "What is 2+2?",
        "reasoning": {"effort": "medium"},
    }
    if stream:
        with codex.responses.stream(**params) as s:
            kinds = [e.type for e in s]
            response = s.get_final_response()
        assert "response.reasoning_text.delta" in kinds
        assert kinds.index("response.reasoning_text.delta") < kinds.index(
            "response.output_text.delta"
        )
    else:
        response = codex.responses.create(**params)
    assert [o.type for o in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.content and reasoning.content[0].text  # type: ignore[union-attr]
    assert response.output_text


def test_input_image(codex: OpenAI) -> None:
    url = "data:image/png;base64," + base64.b64encode(png()).decode()
    response = codex.responses.create(
        model=VISION_MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": url},
                ],
            }
        ],
    )
    assert "image" in response.output_text.lower()


def test_structured_output(codex: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    response = codex.responses.create(
        model=CHAT_MODEL,
        input="A person, please.",
        text={
            "format": {"type": "json_schema", "name": "person", "schema": schema, "strict": True}
        },
    )
    value = json.loads(response.output_text)
    assert isinstance(value["name"], str) and isinstance(value["age"], int)


def test_codex_fields_are_ignored(http: httpx.Client) -> None:
    response = http.post(
        "/v1/responses",
        json={
            "model": CHAT_MODEL,
            "instructions": "You are Codex.",
            "input": [
                {
                    "type": "message",
                    "role": "developer",
                    "content": [{"type": "input_text", "text": "sandbox: workspace-write"}],
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "hi"}],
                },
                {"type": "reasoning", "summary": [], "encrypted_content": None},
            ],
            "tools": [WEATHER_TOOL, {"type": "web_search"}],
            "tool_choice": "auto",
            "parallel_tool_calls": False,
            "reasoning": {"effort": "low", "summary": "auto"},
            "store": False,
            "stream": False,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "abc",
            "client_metadata": {"x": "y"},
        },
    )
    assert response.status_code == 200, response.text
    assert "web_search" in response.headers["x-bigshot-warning"]
    assert response.json()["status"] == "completed"


def test_unknown_item_type_is_a_clear_400(codex: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        codex.responses.create(
            model=CHAT_MODEL, input=[{"type": "computer_call_output", "call_id": "c"}]
        )
    assert "computer_call_output" in caught.value.message


def test_unknown_content_type_is_a_clear_400(codex: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        codex.responses.create(
            model=CHAT_MODEL,
            input=[{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}],
        )
    assert "input_file" in caught.value.message


def test_unknown_model_is_404(codex: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        codex.responses.create(model="no-such-model", input="x")


@pytest.mark.parametrize("fault", ["error_event", "drop_mid_stream"])
def test_mid_stream_failure_is_response_failed(
    http: httpx.Client, codex: OpenAI, sim: Any, fault: str
) -> None:
    sim.state.set_fault(fault, after=3, count=1)
    response = http.post(
        "/v1/responses", json={"model": CHAT_MODEL, "input": "Hello", "stream": True}
    )
    assert response.status_code == 200
    events = [json.loads(d) for _, d in sse_events(response.text)]
    assert events[-1]["type"] == "response.failed"
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"]
    assert "response.completed" not in [e["type"] for e in events]

    sim.state.set_fault(fault, after=3, count=1)
    with codex.responses.stream(model=CHAT_MODEL, input="Hello") as s:
        kinds = [e.type for e in s]
    assert kinds[-1] == "response.failed"


def test_token_limit_is_incomplete(codex: OpenAI, sim: Any) -> None:
    sim.state.tokens = 50
    response = codex.responses.create(model=CHAT_MODEL, input="Go on", max_output_tokens=5)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


def test_bad_key(gateway: Any) -> None:
    with OpenAI(base_url=f"{gateway.url}/v1", api_key="bsk_nope", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError):
            bad.responses.create(model=CHAT_MODEL, input="x")


def test_developer_items_become_one_leading_system_message(codex: OpenAI, sim: Any) -> None:
    codex.responses.create(
        model=CHAT_MODEL,
        instructions="base",
        input=[
            {"role": "developer", "content": [{"type": "input_text", "text": "sandbox"}]},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": "later note"},
            {"role": "user", "content": "again"},
        ],
    )
    sent = sim.state.last_request_body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "user"]
    assert sent[0]["content"] == "base\n\nsandbox\n\nlater note"
