"""Comparisons with reasoning models, tools and structured output: per-target `reasoning`
and `tool_call` events over real sockets, and the stored results."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson

from tests.conftest import ADMIN_KEY, auth
from tests.model_ops.test_compare import COMPARE, run
from tests.support.images import CAT
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_reasoning_is_shown_per_target_and_stored(
    gateway: ThreadedServer, sim: Any, second_sim: Any
) -> None:
    second_sim.state.reasoning_tokens = 6
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        added = await client.post(
            "/api/v1/llm-providers", json={"name": "box", "base_url": second_sim.url}, headers=ADMIN
        )
        assert added.status_code == 201, added.text
        body = {
            "prompt": "Why is the sky blue?",
            "targets": [
                {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
                {"provider": "box", "model": "gpt-oss-20b"},
            ],
        }
        events = await run(client, body)
        reasoning = [d for n, d in events if n == "reasoning"]
        assert reasoning and {d["target"] for d in reasoning} == {1}
        first_delta_1 = next(
            i for i, (n, d) in enumerate(events) if n == "delta" and d["target"] == 1
        )
        last_reasoning = max(i for i, (n, _) in enumerate(events) if n == "reasoning")
        assert last_reasoning < first_delta_1
        done = {d["target"]: d for n, d in events if n == "done"}
        assert done[1]["reasoning_tokens"] == 6 and done[0]["reasoning_tokens"] is None
        assert done[1]["stats"]["time_to_answer_ms"] >= done[1]["stats"]["ttft_ms"]
        stored = await client.get(f"{COMPARE}/{events[0][1]['id']}", headers=ADMIN)
        results = stored.json()["data"]["results"]
        assert results[1]["reasoning"] == "".join(d["text"] for d in reasoning)
        assert "reasoning" not in results[0]


async def test_tool_calls_and_structured_output_per_target(gateway: ThreadedServer) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        body = {
            "prompt": "weather?",
            "params": {"tools": [WEATHER]},
            "targets": [
                {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
                {"provider": "LMStudio Local", "model": "llama-3.2-1b-instruct"},
            ],
        }
        events = await run(client, body)
        calls = [d for n, d in events if n == "tool_call"]
        assert {c["target"] for c in calls} == {0, 1}
        assert all(orjson.loads(c["arguments"]) == {"city": "city"} for c in calls)
        done = {d["target"]: d for n, d in events if n == "done"}
        assert done[0]["finish_reason"] == done[1]["finish_reason"] == "tool_calls"
        stored = await client.get(f"{COMPARE}/{events[0][1]['id']}", headers=ADMIN)
        record = stored.json()["data"]
        assert record["params"] == {"tools": [WEATHER]}
        assert record["results"][0]["tool_calls"][0]["function"]["name"] == "get_weather"

        strict = {
            "prompt": "a number",
            "params": {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "n", "schema": schema, "strict": True},
                }
            },
            "targets": body["targets"],
        }
        events = await run(client, strict)
        done = [d for n, d in events if n == "done"]
        assert [d["parsed"] for d in done] == [{"n": 7}, {"n": 7}]


async def test_images_compare_per_target_vision_and_refuse_bad_input(
    gateway: ThreadedServer, sim: Any
) -> None:
    inline = "data:image/png;base64," + base64.b64encode(CAT).decode()
    question = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is it?"},
            {"type": "image_url", "image_url": {"url": inline}},
        ],
    }
    targets = [
        {"provider": "LMStudio Local", "model": "gemma-3-4b-it"},
        {"provider": "LMStudio Local", "model": "qwen2.5-7b-instruct"},
    ]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        events = await run(client, {"messages": [question], "targets": targets})
        text = "".join(d["text"] for n, d in events if n == "delta" and d["target"] == 0)
        assert text.startswith(f"I see 1 image(s): image/png of {len(CAT)} bytes.")
        (error,) = [d for n, d in events if n == "error"]
        assert error["target"] == 1 and error["code"] == "model_without_vision"
        stored = await client.get(f"{COMPARE}/{events[0][1]['id']}", headers=ADMIN)
        assert stored.json()["data"]["prompt"] == "What is it?"

        remote = {**question, "content": [question["content"][0], {
            "type": "image_url", "image_url": {"url": f"{sim.url}/cat.png"}}]}  # fmt: skip
        before = sim.state.requests_by_path.get("/v1/chat/completions", 0)
        refused = await client.post(
            COMPARE, json={"messages": [remote], "targets": targets}, headers=ADMIN
        )
        # Loopback is not an allowed image host here: the whole comparison is a 422.
        assert refused.status_code == 422, refused.text
        assert "non-public address" in refused.json()["error"]["message"]
        assert sim.state.requests_by_path.get("/v1/chat/completions", 0) == before
        listed = await client.get(COMPARE, headers=ADMIN)
        assert listed.json()["data"]["total"] == 1  # the refused one was not stored
