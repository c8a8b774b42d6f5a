"""What `/v1/chat/completions` guarantees holds on the agent front doors too: usage
records per endpoint, the `<think>` split, and cancel-on-disconnect for Responses streams."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
from openai import AsyncOpenAI, OpenAI

from tests.agents.conftest import CHAT_MODEL
from tests.conftest import ADMIN_KEY

THINK_TAGS_MODEL = "deepseek-r1-distill-qwen-7b"


def test_usage_is_recorded_per_endpoint(
    claude: anthropic.Anthropic, codex: OpenAI, http: httpx.Client
) -> None:
    claude.messages.create(
        model=CHAT_MODEL, max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    with codex.responses.stream(model=CHAT_MODEL, input="hi") as stream:
        for _ in stream:
            pass
    deadline = time.monotonic() + 20
    endpoints: set[str] = set()
    while time.monotonic() < deadline:  # records are written in batches: poll
        items = http.get("/api/v1/usage/recent?limit=10").json()["data"]["items"]
        endpoints = {item["endpoint"] for item in items}
        if {"/v1/messages", "/v1/responses"} <= endpoints:
            break
        time.sleep(0.2)
    assert {"/v1/messages", "/v1/responses"} <= endpoints, endpoints


def test_inline_think_block_becomes_thinking_and_reasoning(
    claude: anthropic.Anthropic, codex: OpenAI
) -> None:
    with claude.messages.stream(
        model=THINK_TAGS_MODEL, max_tokens=256, messages=[{"role": "user", "content": "2+2?"}]
    ) as stream:
        message = stream.get_final_message()
    kinds = [b.type for b in message.content]
    assert kinds == ["thinking", "text"]
    assert "<think>" not in message.content[1].text  # type: ignore[union-attr]

    response = codex.responses.create(model=THINK_TAGS_MODEL, input="2+2?")
    assert [o.type for o in response.output] == ["reasoning", "message"]
    assert "<think>" not in response.output_text


async def test_responses_stream_disconnect_aborts_the_upstream(gateway: Any, sim: Any) -> None:
    sim.state.token_delay = 0.05
    sim.state.tokens = 200
    async with AsyncOpenAI(
        base_url=f"{gateway.url}/v1", api_key=ADMIN_KEY, max_retries=0
    ) as client:
        stream = await client.responses.create(model=CHAT_MODEL, input="x", stream=True)
        seen = 0
        async for event in stream:
            seen += event.type == "response.output_text.delta"
            if seen == 3:
                break
        assert sim.state.streams_open == 1
        await stream.close()
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=5)
    assert sim.state.streams_completed == 0
