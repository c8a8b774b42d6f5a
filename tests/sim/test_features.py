"""The simulator's reasoning, tool-calling, vision and structured-output models behave like
LM Studio, quirks included (checked directly, without the gateway)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson

from bigshot_llm.sim import SimServer

TOOL = {
    "type": "function",
    "function": {
        "name": "find",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    },
}


async def chunks(client: httpx.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    async with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
        assert r.status_code == 200
        lines = [line async for line in r.aiter_lines() if line.startswith("data: {")]
    return [orjson.loads(line[len("data: ") :]) for line in lines]


def ask(text: str = "hello") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def test_reasoning_shapes(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.reasoning_tokens = 3
    for model, field in (("qwen3-8b", "reasoning_content"), ("gpt-oss-20b", "reasoning")):
        streamed = await chunks(client, {"model": model, "messages": ask()})
        deltas = [c["choices"][0]["delta"] for c in streamed]
        thought = [d[field] for d in deltas if field in d]
        assert len(thought) == 3
        first_content = next(i for i, d in enumerate(deltas) if d.get("content"))
        assert first_content > max(i for i, d in enumerate(deltas) if field in d)
        whole = await client.post("/v1/chat/completions", json={"model": model, "messages": ask()})
        body = whole.json()
        assert body["choices"][0]["message"][field] == "".join(thought)
        assert body["usage"]["completion_tokens_details"] == {"reasoning_tokens": 3}
    off = await client.post(
        "/v1/chat/completions",
        json={"model": "qwen3-8b", "messages": ask(), "reasoning_effort": "off"},
    )
    assert "reasoning_content" not in off.json()["choices"][0]["message"]


async def test_think_tags_are_cut_across_chunks(client: httpx.AsyncClient) -> None:
    deltas = await chunks(client, {"model": "deepseek-r1-distill-qwen-7b", "messages": ask()})
    pieces = [c["choices"][0]["delta"].get("content") for c in deltas]
    assert pieces[1:3] == ["<thi", "nk>"] and "</th" in pieces
    text = "".join(p or "" for p in pieces)
    assert text.startswith("<think>") and "</think>\n\n" in text


async def test_tool_calls_with_lm_studio_quirks(client: httpx.AsyncClient) -> None:
    plain = await client.post("/v1/chat/completions", json={"messages": ask()})
    assert plain.json()["choices"][0]["message"]["tool_calls"] == []  # always present
    called = await client.post("/v1/chat/completions", json={"messages": ask(), "tools": [TOOL]})
    choice = called.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["id"] == "" and call["function"] == {"name": "find", "arguments": '{"q":"q"}'}
    streamed = await chunks(client, {"messages": ask(), "tools": [TOOL]})
    deltas = [c["choices"][0]["delta"] for c in streamed]
    assert all("tool_calls" in d for d in deltas)
    fragments = [f for d in deltas for f in d["tool_calls"]]
    assert fragments[0]["id"] == "" and fragments[0]["function"]["name"] == "find"
    assert "".join(f["function"]["arguments"] for f in fragments) == '{"q":"q"}'
    answered = await client.post(
        "/v1/chat/completions",
        json={
            "messages": [
                *ask(),
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "", "content": "42"},
            ],
            "tools": [TOOL],
        },
    )
    assert answered.json()["choices"][0]["message"]["content"].startswith("The tool said: 42.")


async def test_vision_takes_base64_only(client: httpx.AsyncClient) -> None:
    def image(url: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]

    remote = await client.post(
        "/v1/chat/completions",
        json={"model": "gemma-3-4b-it", "messages": image("https://example.org/a.png")},
    )
    assert remote.status_code == 400
    assert remote.json()["error"]["message"] == "'url' field must be a base64 encoded image."
    data_url = "data:image/png;base64," + base64.b64encode(b"12345").decode()
    seen = await client.post(
        "/v1/chat/completions", json={"model": "gemma-3-4b-it", "messages": image(data_url)}
    )
    assert seen.json()["choices"][0]["message"]["content"].startswith(
        "I see 1 image(s): image/png of 5 bytes."
    )
    blind = await client.post(
        "/v1/chat/completions", json={"model": "qwen2.5-7b-instruct", "messages": image(data_url)}
    )
    assert blind.status_code == 400 and "does not support images" in blind.text


async def test_structured_output(client: httpx.AsyncClient, sim: SimServer) -> None:
    refused = await client.post(
        "/v1/chat/completions",
        json={"messages": ask(), "response_format": {"type": "json_object"}},
    )
    assert refused.status_code == 400
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}}}
    body = {
        "messages": ask(),
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
    }
    answer = await client.post("/v1/chat/completions", json=body)
    assert orjson.loads(answer.json()["choices"][0]["message"]["content"]) == {"n": 7, "ok": True}
    sim.state.structured_output_broken = True
    broken = await client.post("/v1/chat/completions", json=body)
    content = broken.json()["choices"][0]["message"]["content"]
    try:
        orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    else:  # pragma: no cover - the point of the setting
        raise AssertionError(f"still valid JSON: {content}")
