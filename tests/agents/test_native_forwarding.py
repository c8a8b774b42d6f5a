"""The agent front doors on both upstream kinds, through the official SDKs: a chat-only
upstream (the gateway translates) and one that speaks Messages and Responses itself (the
gateway forwards the client's JSON and relays the events). Both must give what the simulator
gives when asked directly in that API: the same text, the same tool call, the same event
types in the same order; and the pipeline's guarantees hold on the native path (usage,
errors in the API's shape before and after the first byte, stored responses, the probe)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from openai import OpenAI

from tests.agents.conftest import CHAT_MODEL, REASONING_MODEL, VISION_MODEL, sse_events
from tests.conftest import ADMIN_KEY, auth
from tests.support.images import png

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
RESPONSES_WEATHER = {
    "type": "function",
    "name": WEATHER["name"],
    "description": WEATHER["description"],
    "parameters": WEATHER["input_schema"],
}
IMAGE = base64.b64encode(png()).decode()

MESSAGES_CASES: dict[str, dict[str, Any]] = {
    "text": {
        "model": CHAT_MODEL,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Say hello."}],
    },
    "tools": {
        "model": CHAT_MODEL,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
    },
    "image": {
        "model": VISION_MODEL,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": IMAGE},
                    },
                    {"type": "text", "text": "What is this?"},
                ],
            }
        ],
    },
    "reasoning": {
        "model": REASONING_MODEL,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "What is 2+2?"}],
    },
}
RESPONSES_CASES: dict[str, dict[str, Any]] = {
    "text": {"model": CHAT_MODEL, "instructions": "Be terse.", "input": "Say hello."},
    "tools": {"model": CHAT_MODEL, "tools": [RESPONSES_WEATHER], "input": "Weather in Paris?"},
    "image": {
        "model": VISION_MODEL,
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_image", "image_url": f"data:image/png;base64,{IMAGE}"},
                    {"type": "input_text", "text": "What is this?"},
                ],
            }
        ],
    },
    "reasoning": {"model": REASONING_MODEL, "input": "What is 2+2?"},
}


@pytest.fixture
def direct_claude(sim: Any) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=sim.url, api_key="lm-studio", max_retries=0) as client:
        yield client


@pytest.fixture
def direct_codex(sim: Any) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{sim.url}/v1", api_key="lm-studio", max_retries=0) as client:
        yield client


def _blocks(message: Any) -> list[tuple[str, Any]]:
    """What a message says, ids left out (each side makes its own)."""
    out: list[tuple[str, Any]] = []
    for block in message.content:
        if block.type == "text":
            out.append(("text", block.text))
        elif block.type == "thinking":
            out.append(("thinking", block.thinking))
        elif block.type == "tool_use":
            out.append(("tool_use", (block.name, block.input)))
    return out


def _items(response: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for item in response.output:
        if item.type == "message":
            out.append(("message", "".join(c.text for c in item.content)))
        elif item.type == "reasoning":
            out.append(("reasoning", "".join(c.text for c in item.content or ())))
        elif item.type == "function_call":
            out.append(("function_call", (item.name, json.loads(item.arguments))))
    return out


@pytest.mark.parametrize("case", sorted(MESSAGES_CASES))
@pytest.mark.parametrize("stream", [False, True])
def test_messages_match_the_simulators_own_api(
    claude: anthropic.Anthropic,
    direct_claude: anthropic.Anthropic,
    sim: Any,
    upstream: str,
    case: str,
    stream: bool,
) -> None:
    params = {"max_tokens": 256, **MESSAGES_CASES[case]}

    def ask(client: anthropic.Anthropic) -> tuple[Any, list[str]]:
        if not stream:
            return client.messages.create(**params), []
        with client.messages.stream(**params) as s:
            kinds = [event.type for event in s]
            return s.get_final_message(), kinds

    through, through_kinds = ask(claude)
    sim.state.native_apis = True  # the gateway's probe answer is kept: it stays on its path
    direct, direct_kinds = ask(direct_claude)
    assert _blocks(through) == _blocks(direct) and _blocks(direct)
    assert through.stop_reason == direct.stop_reason
    assert through_kinds == direct_kinds
    forwarded = sim.state.requests_by_path.get("/v1/messages", 0)
    assert forwarded == (3 if upstream == "native" else 2)  # probe + gateway's + direct


@pytest.mark.parametrize("case", sorted(RESPONSES_CASES))
@pytest.mark.parametrize("stream", [False, True])
def test_responses_match_the_simulators_own_api(
    codex: OpenAI,
    direct_codex: OpenAI,
    sim: Any,
    upstream: str,
    case: str,
    stream: bool,
) -> None:
    params = RESPONSES_CASES[case]

    def ask(client: OpenAI) -> tuple[Any, list[str]]:
        if not stream:
            return client.responses.create(**params), []
        with client.responses.stream(**params) as s:
            kinds = [event.type for event in s]
            return s.get_final_response(), kinds

    through, through_kinds = ask(codex)
    sim.state.native_apis = True
    direct, direct_kinds = ask(direct_codex)
    assert _items(through) == _items(direct) and _items(direct)
    assert through_kinds == direct_kinds
    assert through.usage is not None and through.usage.output_tokens > 0


def test_forwarded_request_is_the_clients_json(http: httpx.Client, sim: Any) -> None:
    """Unknown fields reach the upstream; only the model is the gateway's (here an id
    routed by provider); the answer is the upstream's, relayed."""
    sim.state.native_apis = True
    body = {
        "model": f"LMStudio Local/{CHAT_MODEL}",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"user_id": "u-1"},
        "x_vendor_knob": {"depth": 3},
    }
    answer = http.post("/v1/messages", json=body)
    assert answer.status_code == 200, answer.text
    sent = sim.state.last_request_body
    assert sim.state.last_request_path == "/v1/messages"
    assert sent["model"] == CHAT_MODEL
    assert sent["x_vendor_knob"] == {"depth": 3} and sent["metadata"] == {"user_id": "u-1"}
    assert answer.json()["model"] == CHAT_MODEL  # the upstream's own answer


def test_native_usage_is_recorded_from_the_apis_usage(
    claude: anthropic.Anthropic, codex: OpenAI, http: httpx.Client, sim: Any
) -> None:
    sim.state.native_apis = True
    with claude.messages.stream(
        model=CHAT_MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as s:
        message = s.get_final_message()
    response = codex.responses.create(model=CHAT_MODEL, input="hello there")
    assert response.usage is not None
    wanted = {
        "/v1/messages": (message.usage.input_tokens, message.usage.output_tokens),
        "/v1/responses": (response.usage.input_tokens, response.usage.output_tokens),
    }
    found: dict[str, tuple[int, int]] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and set(found) != set(wanted):
        items = http.get("/api/v1/usage/recent?limit=10").json()["data"]["items"]
        found = {
            i["endpoint"]: (i["prompt_tokens"], i["completion_tokens"])
            for i in items
            if not i["estimated"] and i["status"] == "ok"
        }
        time.sleep(0.2)
    assert found == wanted


@pytest.mark.parametrize("fault", ["error_event", "drop_mid_stream"])
def test_native_mid_stream_failure_ends_in_the_apis_error(
    http: httpx.Client, sim: Any, fault: str
) -> None:
    sim.state.native_apis = True
    sim.state.set_fault(fault, after=4, count=1)
    response = http.post(
        "/v1/messages",
        json={
            "model": CHAT_MODEL,
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": "Hello"}],
        },
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[0][0] == "message_start"
    name, data = events[-1]
    assert name == "error" and json.loads(data)["error"]["message"]
    assert "message_stop" not in [n for n, _ in events]

    sim.state.set_fault(fault, after=4, count=1)
    response = http.post("/v1/responses", json={"model": CHAT_MODEL, "input": "x", "stream": True})
    events = [(n, json.loads(d)) for n, d in sse_events(response.text)]
    assert events[-1][0] == "response.failed"
    numbers = [d["sequence_number"] for _, d in events]
    assert numbers == list(range(len(numbers)))
    assert events[-1][1]["response"]["id"] == events[0][1]["response"]["id"]


def test_native_failure_before_the_first_byte_is_a_status(
    claude: anthropic.Anthropic, codex: OpenAI, sim: Any
) -> None:
    sim.state.native_apis = True
    sim.state.set_fault("http_503", count=10)
    with pytest.raises(anthropic.APIStatusError) as caught:
        with claude.messages.stream(
            model=CHAT_MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
        ) as s:
            for _ in s:
                pass
    assert caught.value.status_code == 503
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    sim.state.clear_fault_silently()
    sim.state.set_fault("http_500", count=10)
    response = httpx.post(
        f"{str(codex.base_url).rstrip('/')}/responses",
        json={"model": CHAT_MODEL, "input": "x"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 502 and response.json()["error"]["message"]


def test_native_previous_response_id_is_expanded(
    codex: OpenAI, http: httpx.Client, sim: Any, upstream: str
) -> None:
    """The gateway keeps the responses on both kinds; on a native upstream the chain is sent
    as input items (the upstream does not know the gateway's ids)."""
    first = codex.responses.create(model=CHAT_MODEL, input="My name is Ada.")
    stored = http.get(f"/v1/responses/{first.id}")
    assert stored.status_code == 200 and stored.json()["id"] == first.id
    second = codex.responses.create(
        model=CHAT_MODEL, input="What is my name?", previous_response_id=first.id
    )
    assert second.output_text
    if upstream == "native":
        sent = sim.state.last_request_body
        assert "previous_response_id" not in sent
        assert [item.get("role") for item in sent["input"]] == ["user", "assistant", "user"]
        assert sent["input"][1]["content"] == first.output_text
    third = codex.responses.create(model=CHAT_MODEL, input="Again?", previous_response_id=second.id)
    assert third.output_text


def test_provider_setting_off_keeps_the_translation(http: httpx.Client, sim: Any) -> None:
    sim.state.native_apis = True
    [provider] = http.get("/api/v1/llm-providers").json()["data"]
    assert provider["native_apis"] == "auto"
    patched = http.patch(f"/api/v1/llm-providers/{provider['id']}", json={"native_apis": "off"})
    assert patched.status_code == 200 and patched.json()["data"]["native_apis"] == "off"
    bad = http.patch(f"/api/v1/llm-providers/{provider['id']}", json={"native_apis": "maybe"})
    assert bad.status_code == 422 and "native_apis" in bad.text
    answer = http.post(
        "/v1/messages",
        json={
            "model": CHAT_MODEL,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert answer.status_code == 200
    assert sim.state.last_request_path == "/v1/chat/completions"
    assert not sim.state.requests_by_path.get("/v1/messages")  # not even probed


def test_stop_sequence_is_reported(claude: anthropic.Anthropic, sim: Any, upstream: str) -> None:
    """On both kinds: the stop string that ended the answer is `stop_sequence`."""
    params: dict[str, Any] = {
        "model": CHAT_MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Tell me more."}],
    }
    plain = claude.messages.create(**params)
    assert plain.stop_sequence is None and plain.stop_reason == "end_turn"
    word = plain.content[0].text.split()[4]  # type: ignore[union-attr]
    stopped = claude.messages.create(**params, stop_sequences=["no-such-thing", word])
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == word
    assert word not in stopped.content[0].text  # type: ignore[union-attr]
    with claude.messages.stream(**params, stop_sequences=[word]) as s:
        streamed = s.get_final_message()
    assert streamed.stop_reason == "stop_sequence" and streamed.stop_sequence == word


def test_integers_beyond_64_bits_are_no_500(http: httpx.Client, upstream: str) -> None:
    """The client's JSON is read again for forwarding: a field orjson cannot hold (an
    integer beyond 64 bits) still goes through on both kinds, never a 500."""
    head = json.dumps(
        {"model": CHAT_MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    )
    body = head[:-1] + ', "x_big": 123456789012345678901234567890}'
    answer = http.post("/v1/messages", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "message"


def test_forwarded_streams_are_metered_and_quota_checked(
    gateway: Any, http: httpx.Client, sim: Any
) -> None:
    """The forwarded path keeps the pipeline's accounting: a stream relayed as the upstream's
    own Messages events records its GPU time, and counts against the caller's quota (one
    request a day: the second is refused in the Anthropic error shape)."""
    sim.state.native_apis = True
    sim.state.token_delay = 0.02  # the slot is held a measurable time
    created = http.post("/api/v1/keys", json={"name": "carol-key", "user": "carol"})
    assert created.status_code == 201, created.text
    key = created.json()["data"]["key"]
    carol = httpx.Client(base_url=gateway.url, headers=auth(key), timeout=20)
    me = carol.get("/api/v1/me").json()["data"]
    quota = {"subject": "user", "subject_id": me["user_id"], "metric": "requests"}
    set_quota = http.post(
        "/api/v1/llm-providers/quotas", json={**quota, "period": "day", "limit": 1}
    )
    assert set_quota.status_code == 201, set_quota.text
    with anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0) as client:
        with client.messages.stream(
            model=CHAT_MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as s:
            message = s.get_final_message()
        assert message.content and sim.state.last_request_path == "/v1/messages"
        with pytest.raises(anthropic.RateLimitError) as refused:
            client.messages.create(
                model=CHAT_MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
            )
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    deadline, records = time.monotonic() + 20, []
    while time.monotonic() < deadline and not records:
        items = http.get("/api/v1/usage/recent?limit=10").json()["data"]["items"]
        records = [i for i in items if i["endpoint"] == "/v1/messages" and i["status"] == "ok"]
        time.sleep(0.2)
    assert records and records[0]["gpu_seconds"] > 0, records
    carol.close()
