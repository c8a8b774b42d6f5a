"""`POST /v1/messages` through the official `anthropic` SDK, on a real socket, with the
simulator upstream: text, streaming, tools (a full tool-use round trip), thinking, images,
ignored fields and errors in Anthropic's shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import httpx
import pytest

from tests.agents.conftest import (
    CHAT_MODEL,
    REASONING_MODEL,
    VISION_MODEL,
    agent_path,
    sse_events,
)
from tests.conftest import ADMIN_KEY, learn_models_sync
from tests.support.images import png


def png_base64() -> str:
    return base64.b64encode(png()).decode()


WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_plain_message(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=CHAT_MODEL,
        max_tokens=64,
        system="You are terse.",
        messages=[{"role": "user", "content": "Say hello."}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == CHAT_MODEL
    assert message.id.startswith("msg_")
    assert message.stop_reason in ("end_turn", "max_tokens")
    [block] = message.content
    assert block.type == "text" and block.text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_stream_event_sequence_and_text(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=CHAT_MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert kinds[-2] == "message_delta"
    assert "content_block_start" in kinds and "content_block_stop" in kinds
    text = "".join(b.text for b in final.content if b.type == "text")
    assert text
    assert final.stop_reason in ("end_turn", "max_tokens")
    assert final.usage.output_tokens > 0


def test_raw_stream_frames(http: httpx.Client) -> None:
    """The wire: `event:` names matching each data's `type`, a ping after message_start."""
    response = http.post(
        "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={
            "model": CHAT_MODEL,
            "max_tokens": 32,
            "stream": True,
            "messages": [{"role": "user", "content": "Hi"}],
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [(name, json.loads(data)) for name, data in sse_events(response.text)]
    assert all(name == data["type"] for name, data in events)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    deltas = [d for n, d in events if n == "content_block_delta"]
    assert deltas and all(d["delta"]["type"] == "text_delta" for d in deltas)
    assert events[-2][1]["delta"]["stop_reason"] in ("end_turn", "max_tokens")
    assert events[-2][1]["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trip(
    claude: anthropic.Anthropic, stream: bool, upstream: str, sim: Any
) -> None:
    """Claude Code's loop: the model calls a tool, the client answers with a tool_result,
    the model answers in text quoting it; on a chat-only upstream and a native one."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        with claude.messages.stream(
            model=CHAT_MODEL, max_tokens=128, tools=[WEATHER_TOOL], messages=messages
        ) as s:
            kinds = [(e.type, getattr(getattr(e, "delta", None), "type", None)) for e in s]
            first = s.get_final_message()
        assert ("content_block_delta", "input_json_delta") in kinds
    else:
        first = claude.messages.create(
            model=CHAT_MODEL, max_tokens=128, tools=[WEATHER_TOOL], messages=messages
        )
    assert first.stop_reason == "tool_use"
    [call] = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "get_weather"
    assert call.id and isinstance(call.input, dict) and "city" in call.input
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21 C"}],
        },
    ]
    second = claude.messages.create(
        model=CHAT_MODEL, max_tokens=128, tools=[WEATHER_TOOL], messages=messages
    )
    assert second.stop_reason == "end_turn"
    text = "".join(b.text for b in second.content if b.type == "text")
    assert "sunny, 21 C" in text
    agent_path(sim, upstream, "/v1/messages")


def test_tool_choice_none_answers_in_text(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=CHAT_MODEL,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "none"},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert [b.type for b in message.content] == ["text"]
    assert message.stop_reason != "tool_use"


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_becomes_thinking_blocks(claude: anthropic.Anthropic, stream: bool) -> None:
    params: dict[str, Any] = {
        "model": REASONING_MODEL,
        "max_tokens": 256,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "What is 2+2?"}],
    }
    if stream:
        with claude.messages.stream(**params) as s:
            deltas = [e.delta.type for e in s if e.type == "content_block_delta"]
            message = s.get_final_message()
        assert "thinking_delta" in deltas and "text_delta" in deltas
        assert deltas.index("thinking_delta") < deltas.index("text_delta")
    else:
        message = claude.messages.create(**params)
    kinds = [b.type for b in message.content]
    assert kinds == ["thinking", "text"]
    assert message.content[0].thinking  # type: ignore[union-attr]
    assert message.content[1].text  # type: ignore[union-attr]


def test_image_block_reaches_a_vision_model(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=VISION_MODEL,
        max_tokens=64,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": png_base64(),
                        },
                    },
                    {"type": "text", "text": "What is in this picture?"},
                ],
            }
        ],
    )
    text = "".join(b.text for b in message.content if b.type == "text")
    assert "image" in text.lower()


def test_image_to_a_text_model_is_a_400(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model=CHAT_MODEL,
            max_tokens=16,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": png_base64(),
                            },
                        }
                    ],
                }
            ],
        )
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "vision" in caught.value.message


def test_claude_code_first_request_fields_are_ignored(http: httpx.Client) -> None:
    """What Claude Code sends beyond the basics must not be a 400."""
    response = http.post(
        "/v1/messages?beta=true",
        headers={
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
            "x-api-key": ADMIN_KEY,
            "authorization": "",
        },
        json={
            "model": CHAT_MODEL,
            "max_tokens": 32000,
            "system": [
                {
                    "type": "text",
                    "text": "You are Claude Code.",
                    "cache_control": {"type": "ephemeral"},
                }
            ],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
                    ],
                }
            ],
            "metadata": {"user_id": "user_abc_account__session_x"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
            "output_config": {"effort": "medium"},
            "temperature": 1,
            "tools": [{**WEATHER_TOOL, "cache_control": {"type": "ephemeral"}}],
            "tool_choice": {"type": "auto"},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "message"


def test_unknown_block_type_is_a_clear_400(http: httpx.Client) -> None:
    response = http.post(
        "/v1/messages",
        json={
            "model": CHAT_MODEL,
            "max_tokens": 16,
            "messages": [
                {"role": "user", "content": [{"type": "hologram", "data": "x"}]},
            ],
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "hologram" in body["error"]["message"]
    assert "messages.0.content" in body["error"]["message"]


def test_server_tool_is_a_clear_400(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model=CHAT_MODEL,
            max_tokens=16,
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
            messages=[{"role": "user", "content": "hi"}],
        )
    assert "web_search_20250305" in caught.value.message


def test_missing_max_tokens_names_the_field(http: httpx.Client) -> None:
    response = http.post(
        "/v1/messages", json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 400
    assert "max_tokens" in response.json()["error"]["message"]


def test_bad_key_is_an_anthropic_authentication_error(gateway: Any) -> None:
    with anthropic.Anthropic(base_url=gateway.url, api_key="bsk_wrong", max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            bad.messages.create(
                model=CHAT_MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
            )
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_unknown_model_is_not_found(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(
            model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert "no-such-model" in caught.value.message


def test_count_tokens_estimates(claude: anthropic.Anthropic) -> None:
    short = claude.messages.count_tokens(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    long = claude.messages.count_tokens(
        model=CHAT_MODEL,
        system="a system prompt " * 50,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "hello there " * 100}],
    )
    assert 0 < short.input_tokens < long.input_tokens


@pytest.mark.parametrize("fault", ["error_event", "drop_mid_stream"])
def test_mid_stream_failure_is_an_in_band_error_event(
    http: httpx.Client, claude: anthropic.Anthropic, sim: Any, fault: str
) -> None:
    body = {
        "model": CHAT_MODEL,
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    sim.state.set_fault(fault, after=3, count=1)
    response = http.post("/v1/messages", json=body)
    assert response.status_code == 200
    events = sse_events(response.text)
    name, data = events[-1]
    assert name == "error"
    error = json.loads(data)
    assert error["type"] == "error" and error["error"]["message"]
    assert error["error"]["type"] in ("invalid_request_error", "api_error")
    assert "message_stop" not in [n for n, _ in events]

    sim.state.set_fault(fault, after=3, count=1)
    with pytest.raises(anthropic.APIStatusError):
        with claude.messages.stream(**{k: v for k, v in body.items() if k != "stream"}) as s:
            for _ in s:
                pass


def test_failure_before_the_first_byte_is_a_json_error(
    claude: anthropic.Anthropic, sim: Any
) -> None:
    learn_models_sync(str(claude.base_url))
    sim.state.set_fault("http_503", count=1, on="generation")
    with pytest.raises(anthropic.APIStatusError) as caught:
        with claude.messages.stream(
            model=CHAT_MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
        ) as s:
            for _ in s:
                pass
    assert caught.value.status_code == 503
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


async def test_client_disconnect_aborts_the_upstream(gateway: Any, sim: Any, upstream: str) -> None:
    """On both upstream kinds: the client leaves, the gateway closes the upstream stream."""
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    async with anthropic.AsyncAnthropic(
        base_url=gateway.url, api_key=ADMIN_KEY, max_retries=0
    ) as client:
        async with client.messages.stream(
            model=CHAT_MODEL, max_tokens=500, messages=[{"role": "user", "content": "x"}]
        ) as stream:
            seen = 0
            async for event in stream:
                seen += event.type == "content_block_delta"
                if seen == 3:
                    break
            assert sim.state.streams_open == 1
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=5)
    assert sim.state.streams_completed == 0
    agent_path(sim, upstream, "/v1/messages")


def test_mid_conversation_system_messages_are_folded_first(
    claude: anthropic.Anthropic, sim: Any
) -> None:
    """Claude Code's `mid-conversation-system` beta puts system messages between turns;
    local chat templates want one system message, first."""
    claude.messages.create(
        model=CHAT_MODEL,
        max_tokens=16,
        system=[{"type": "text", "text": "top rules"}],
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "agent list"},  # type: ignore[list-item]
            {"role": "user", "content": [{"type": "text", "text": "again"}]},
        ],
        extra_headers={"anthropic-beta": "mid-conversation-system-2026-04-07"},
    )
    sent = sim.state.last_request_body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "user"]
    assert sent[0]["content"] == "top rules\n\nagent list"
