"""Chat and legacy completions through the gateway, compared with the simulator directly."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.openai_compat.conftest import CHAT_MODEL, add_provider

MESSAGES: list[Any] = [{"role": "user", "content": "Name three primes."}]


def comparable(answer: Any) -> dict[str, Any]:
    """An answer without what differs per call (id, created)."""
    return answer.model_dump(exclude={"id", "created"})


def test_chat_matches_a_direct_call(gw: OpenAI, direct: OpenAI, sim: Any) -> None:
    params: dict[str, Any] = {
        "model": CHAT_MODEL,
        "messages": MESSAGES,
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 7,
        "seed": 3,
        "stop": ["zzz"],
    }
    via_gateway = gw.chat.completions.create(**params)
    forwarded = sim.state.last_request_body
    assert comparable(via_gateway) == comparable(direct.chat.completions.create(**params))
    assert forwarded == sim.state.last_request_body  # the same body reached upstream
    assert via_gateway.choices[0].finish_reason == "length"


def test_completion_matches_a_direct_call(gw: OpenAI, direct: OpenAI) -> None:
    params: dict[str, Any] = {"model": CHAT_MODEL, "prompt": "Once upon a time", "max_tokens": 5}
    via_gateway = gw.completions.create(**params)
    assert comparable(via_gateway) == comparable(direct.completions.create(**params))
    assert via_gateway.object == "text_completion" and via_gateway.choices[0].text


def test_unknown_fields_reach_the_provider_untouched(gw: OpenAI, sim: Any) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "x", "strict": True, "schema": {"type": "object"}},
    }
    gw.chat.completions.create(
        model=CHAT_MODEL,
        messages=MESSAGES,
        tools=tools,  # type: ignore[arg-type]
        tool_choice="auto",
        response_format=response_format,  # type: ignore[arg-type]
        logprobs=False,
        user="svc-7",
        n=1,
        presence_penalty=0.5,
        extra_body={"ttl": 60, "top_k": 40, "repeat_penalty": 1.1},
    )
    body = sim.state.last_request_body
    assert body["tools"] == tools and body["tool_choice"] == "auto"
    assert body["response_format"] == response_format
    assert body["logprobs"] is False and body["user"] == "svc-7" and body["n"] == 1
    assert body["presence_penalty"] == 0.5
    assert (body["ttl"], body["top_k"], body["repeat_penalty"]) == (60, 40, 1.1)


def test_vision_parts_and_tool_roles_are_accepted(gw: OpenAI, direct: OpenAI, sim: Any) -> None:
    messages: list[Any] = [
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "cat"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
    ]
    via_gateway = gw.chat.completions.create(model="gemma-3-4b-it", messages=messages)
    assert sim.state.last_request_body["messages"] == messages
    direct_answer = direct.chat.completions.create(model="gemma-3-4b-it", messages=messages)
    assert comparable(via_gateway) == comparable(direct_answer)


def test_max_completion_tokens_becomes_max_tokens_for_lm_studio(gw: OpenAI, sim: Any) -> None:
    answer = gw.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, max_completion_tokens=4
    )
    body = sim.state.last_request_body
    assert body["max_tokens"] == 4 and "max_completion_tokens" not in body
    assert answer.usage is not None and answer.usage.completion_tokens == 4
    gw.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, max_completion_tokens=4, max_tokens=9
    )
    assert sim.state.last_request_body["max_tokens"] == 4  # the tighter bound wins


def test_max_completion_tokens_is_kept_for_openai(gw: OpenAI, http: httpx.Client) -> None:
    from tests.openai_compat.upstream import recording_upstream
    from tests.support.servers import ThreadedServer

    app, seen = recording_upstream()
    with ThreadedServer(app) as upstream:
        add_provider(http, "cloud", upstream.url, kind="openai")
        answer = gw.chat.completions.create(
            model="cloud/gpt-x", messages=MESSAGES, max_completion_tokens=4
        )
    assert answer.choices[0].message.content == "ok"
    assert seen[-1]["model"] == "gpt-x"  # the provider prefix is not sent upstream
    assert seen[-1]["max_completion_tokens"] == 4 and "max_tokens" not in seen[-1]


def test_model_with_a_slash_is_kept_whole(gw: OpenAI, sim: Any) -> None:
    from dataclasses import replace

    qwen = sim.state.get_model(CHAT_MODEL)
    sim.state.models = [*sim.state.models, replace(qwen, key="lmstudio-community/qwen")]
    for model in ("lmstudio-community/qwen", "LMStudio Local/lmstudio-community/qwen"):
        answer = gw.chat.completions.create(model=model, messages=MESSAGES)
        assert sim.state.last_request_body["model"] == "lmstudio-community/qwen"
        assert answer.model == "lmstudio-community/qwen"


def test_missing_model_means_the_default_model(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"messages": MESSAGES})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == CHAT_MODEL
    assert response.headers["content-type"] == "application/json"


OUT_OF_BOUNDS: list[tuple[dict[str, Any], str]] = [
    ({"temperature": 2.5}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_completion_tokens": 32769}, "max_completion_tokens"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stop": "x" * 257}, "stop"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
]


def test_out_of_bounds_is_422_in_openai_shape(gw: OpenAI) -> None:
    for extra, param in OUT_OF_BOUNDS:  # one gateway for every case: they are independent
        params: dict[str, Any] = {"model": CHAT_MODEL, "messages": MESSAGES, **extra}
        with pytest.raises(openai.UnprocessableEntityError) as caught:
            gw.chat.completions.create(**params)
        assert caught.value.param == param, extra
        assert caught.value.type == "invalid_request_error"
        assert caught.value.code == "validation_error"


def test_prompt_and_input_bounds(http: httpx.Client) -> None:
    for path, body in [
        ("/v1/completions", {"prompt": ""}),
        ("/v1/completions", {"prompt": []}),
        ("/v1/completions", {"prompt": ["x"] * 65}),
        ("/v1/embeddings", {"input": []}),
        ("/v1/embeddings", {"input": [""]}),
        ("/v1/embeddings", {"input": ["x"] * 2049}),
        ("/v1/embeddings", {"input": "x", "encoding_format": "hex"}),
    ]:
        response = http.post(path, json=body)
        assert response.status_code == 422, body
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}


async def test_async_client(agw: AsyncOpenAI, adirect: AsyncOpenAI) -> None:
    params: dict[str, Any] = {"model": CHAT_MODEL, "messages": MESSAGES, "seed": 11}
    via_gateway = await agw.chat.completions.create(**params)
    assert comparable(via_gateway) == comparable(await adirect.chat.completions.create(**params))
    text = await agw.completions.create(model=CHAT_MODEL, prompt="Hello", max_tokens=3)
    assert text.usage is not None and text.usage.completion_tokens == 3
