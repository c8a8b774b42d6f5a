"""Reasoning and structured output on the native API, against the simulator's reasoning
models (`reasoning_content`, `reasoning`, inline `<think>`) and its json_schema handling."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_llm_endpoints import ADMIN, BASE, sse_events

CHAT = f"{BASE}/chat/completions"
HELLO = [{"role": "user", "content": "Say hello"}]
REASONERS = ["qwen3-8b", "gpt-oss-20b", "deepseek-r1-distill-qwen-7b"]
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
STRICT = {"type": "json_schema", "json_schema": {"name": "trip", "schema": SCHEMA, "strict": True}}


async def chat(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(CHAT, json={"messages": HELLO, **body}, headers=ADMIN)


@pytest.mark.parametrize("model", REASONERS)
async def test_reasoning_streams_before_the_answer_in_every_shape(
    client: httpx.AsyncClient, sim: Any, model: str
) -> None:
    sim.state.reasoning_tokens = 5
    sim.state.tokens = 4
    response = await chat(client, model=model, stream=True)
    assert response.status_code == 200, response.text
    events = sse_events(response.content)
    names = [name for name, _, _ in events]
    assert names[0] == "reasoning" and names[-1] == "done"
    assert names.index("delta") > max(i for i, n in enumerate(names) if n == "reasoning")
    reasoning = "".join(d["text"] for n, d, _ in events if n == "reasoning")
    answer = "".join(d["text"] for n, d, _ in events if n == "delta")
    assert len(reasoning.split()) == 5 and len(answer.split()) == 4
    assert "<think>" not in answer + reasoning and "</think>" not in answer + reasoning
    done = events[-1][1]
    stats = done["stats"]
    assert stats["ttft_ms"] is not None and stats["time_to_answer_ms"] >= stats["ttft_ms"]
    if model == "deepseek-r1-distill-qwen-7b":
        # Usage is upstream's; the think block is not split out there, so no count of it.
        assert done["reasoning_tokens"] is None
    else:
        assert done["reasoning_tokens"] == 5
    assert done["usage"]["completion_tokens"] >= 9  # answer and reasoning


@pytest.mark.parametrize("model", REASONERS)
async def test_reasoning_in_non_streaming_answers(
    client: httpx.AsyncClient, sim: Any, model: str
) -> None:
    sim.state.reasoning_tokens = 3
    response = await chat(client, model=model)
    assert response.status_code == 200, response.text
    message = response.json()["data"]["message"]
    assert len(message["reasoning"].split()) == 3
    assert message["content"] and "<think>" not in message["content"]


async def test_think_tags_stay_text_when_the_provider_says_so(
    client: httpx.AsyncClient, sim: Any
) -> None:
    created = await client.post(
        BASE,
        json={"name": "raw", "base_url": sim.url, "split_think_tags": False},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["split_think_tags"] is False
    response = await client.post(
        f"{CHAT}?provider=raw",
        json={"messages": HELLO, "model": "deepseek-r1-distill-qwen-7b", "stream": True},
        headers=ADMIN,
    )
    events = sse_events(response.content)
    assert "reasoning" not in [n for n, _, _ in events]
    assert "".join(d["text"] for n, d, _ in events if n == "delta").startswith("<think>")


async def test_reasoning_effort_maps_to_the_models_options(
    client: httpx.AsyncClient, sim: Any
) -> None:
    off = await chat(client, model="qwen3-8b", reasoning_effort="none")
    assert off.status_code == 200, off.text
    assert sim.state.last_request_body["reasoning_effort"] == "off"
    assert "reasoning" not in off.json()["data"]["message"]  # the model did not think
    assert "x-bigshot-warning" not in off.headers
    await chat(client, model="gpt-oss-20b", reasoning_effort="minimal")
    assert sim.state.last_request_body["reasoning_effort"] == "low"


async def test_reasoning_effort_is_dropped_with_a_warning_where_unsupported(
    client: httpx.AsyncClient, sim: Any
) -> None:
    response = await chat(client, model="qwen2.5-7b-instruct", reasoning_effort="high")
    assert response.status_code == 200, response.text
    assert "reasoning_effort" not in sim.state.last_request_body
    assert "qwen2.5-7b-instruct" in response.headers["x-bigshot-warning"]
    streamed = await chat(client, model="qwen2.5-7b-instruct", reasoning_effort="high", stream=True)
    assert "has no reasoning options" in streamed.headers["x-bigshot-warning"]


async def test_models_report_reasoning_options_and_vision(client: httpx.AsyncClient) -> None:
    listing = await client.get(f"{BASE}/models?detailed=true", headers=ADMIN)
    models = {m["id"]: m for m in listing.json()["data"]["models"]}
    assert models["qwen3-8b"]["reasoning"] == {"allowed_options": ["off", "on"], "default": "on"}
    assert models["gpt-oss-20b"]["reasoning"]["allowed_options"] == ["low", "medium", "high"]
    assert models["qwen2.5-7b-instruct"]["reasoning"] is None
    assert models["gemma-3-4b-it"]["vision"] is True and models["qwen3-8b"]["vision"] is False
    assert models["qwen2.5-7b-instruct"]["tool_use"] is True


async def test_strict_json_schema_answer_is_parsed(client: httpx.AsyncClient, sim: Any) -> None:
    response = await chat(client, response_format=STRICT)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["parsed"] == {"city": "city", "days": 7} and data["parse_error"] is None
    assert sim.state.last_request_body["response_format"] == STRICT


async def test_invalid_json_under_a_strict_schema_is_reported(
    client: httpx.AsyncClient, sim: Any
) -> None:
    sim.state.structured_output_broken = True
    response = await chat(client, response_format=STRICT)
    data = response.json()["data"]
    assert data["parsed"] is None and "not valid JSON" in data["parse_error"]
    streamed = await chat(client, response_format=STRICT, stream=True)
    done = sse_events(streamed.content)[-1]
    assert done[0] == "done" and done[1]["parsed"] is None and done[1]["parse_error"]


async def test_strict_schema_done_event_carries_the_value(client: httpx.AsyncClient) -> None:
    streamed = await chat(client, response_format=STRICT, stream=True)
    events = sse_events(streamed.content)
    text = "".join(d["text"] for n, d, _ in events if n == "delta")
    assert events[-1][1]["parsed"] == {"city": "city", "days": 7} and text.startswith("{")


async def test_json_object_is_rewritten_for_lm_studio(client: httpx.AsyncClient, sim: Any) -> None:
    response = await chat(client, response_format={"type": "json_object"})
    assert response.status_code == 200, response.text
    sent = sim.state.last_request_body["response_format"]
    assert sent == {
        "type": "json_schema",
        "json_schema": {"name": "json_object", "schema": {"type": "object"}},
    }
    assert response.json()["data"]["message"]["content"] == "{}"
    # Without the rewrite LM Studio (and the simulator) refuse it.
    direct = httpx.post(
        f"{sim.url}/v1/chat/completions",
        json={"messages": HELLO, "response_format": {"type": "json_object"}},
    )
    assert direct.status_code == 400


async def test_json_object_goes_to_openai_unchanged(client: httpx.AsyncClient, sim: Any) -> None:
    created = await client.post(
        BASE, json={"name": "oai", "kind": "openai", "base_url": sim.url}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    await client.post(
        f"{CHAT}?provider=oai",
        json={"messages": HELLO, "model": "qwen2.5-7b-instruct",
              "response_format": {"type": "json_object"}},
        headers=ADMIN,
    )  # fmt: skip
    assert sim.state.last_request_body["response_format"] == {"type": "json_object"}


async def test_text_format_passes(client: httpx.AsyncClient, sim: Any) -> None:
    response = await chat(client, response_format={"type": "text"})
    assert response.status_code == 200 and "parsed" not in response.json()["data"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "schema"),
        (
            {"response_format": {"type": "json_schema",
                                 "json_schema": {"name": "x", "schema": {"type": "nope"}}}},
            "schema",
        ),
        ({"response_format": {"type": "yaml"}}, "response_format"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
    ],
)  # fmt: skip
async def test_bad_structured_fields_are_422(
    client: httpx.AsyncClient, extra: dict[str, Any], field: str
) -> None:
    response = await chat(client, **extra)
    assert response.status_code == 422, response.text
    assert field in response.text
