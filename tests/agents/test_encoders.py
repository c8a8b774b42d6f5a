"""The two encoders on hand-made event sequences: block and item boundaries; a wait for a GPU
slot becomes each API's keep-alive (Anthropic's `ping`, an SSE comment in the Responses
stream) and an event type an encoder does not know is ignored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bigshot_llm.api.anthropic.encoder import (
    MessageBuilder,
    anthropic_events,
    message_from_completion,
)
from bigshot_llm.api.responses_api.encoder import (
    ResponseBuilder,
    build_from_completion,
    response_events,
)
from bigshot_llm.services.generation.events import (
    Chunk,
    Done,
    Queued,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from tests.agents.conftest import sse_events


@dataclass
class Unknown:  # stands for an event type the pipeline may add later
    position: int


def chunk(*parts: Any) -> Chunk:
    return Chunk(b"{}", {}, tuple(parts))


async def events(with_unknown: bool) -> AsyncIterator[Any]:
    if with_unknown:
        yield Queued(2, 1.5)
        yield Unknown(7)
    yield chunk(ReasoningDelta("think"), ReasoningDelta("ing"))
    if with_unknown:
        yield Queued(1, 0.5)
    yield chunk(TextDelta("Hel"), TextDelta("lo"))
    yield chunk(ToolCallDelta(0, "call_a", "f", '{"x":'), ToolCallDelta(0, arguments="1}"))
    yield chunk(ToolCallDelta(1, "call_b", "g", "{}"))
    yield Done("tool_calls", {"prompt_tokens": 3, "completion_tokens": 9}, False, {}, "m")


async def collect(stream: AsyncIterator[bytes]) -> list[tuple[str | None, dict[str, Any]]]:
    body = b"".join([piece async for piece in stream]).decode()
    return [(name, json.loads(data)) for name, data in sse_events(body)]


async def test_anthropic_blocks_and_unknown_events() -> None:
    plain = await collect(anthropic_events(events(False), MessageBuilder("m", 3)))
    noisy = await collect(anthropic_events(events(True), MessageBuilder("m", 3)))
    pings = [n for n, _ in noisy].count("ping") - [n for n, _ in plain].count("ping")
    assert pings == 2  # one keep-alive per wait, nothing for the unknown event

    def strip(stream: list[tuple[str | None, dict[str, Any]]]) -> list[Any]:
        return [
            (n, {k: v for k, v in d.items() if k != "message"}) for n, d in stream if n != "ping"
        ]

    assert strip(plain) == strip(noisy)
    starts = [d["content_block"] for n, d in plain if n == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "text", "tool_use", "tool_use"]
    assert [b.get("id") for b in starts[2:]] == ["call_a", "call_b"]
    stops = [d["index"] for n, d in plain if n == "content_block_stop"]
    assert stops == [0, 1, 2, 3]
    final = plain[-2][1]
    assert final["delta"]["stop_reason"] == "tool_use"
    assert final["usage"] == {"input_tokens": 3, "output_tokens": 9}


async def test_anthropic_builder_assembles_the_message() -> None:
    builder = MessageBuilder("m", 3)
    async for _ in anthropic_events(events(False), builder):
        pass
    content = builder.message()["content"]
    assert content[0] == {"type": "thinking", "thinking": "thinking", "signature": ""}
    assert content[1] == {"type": "text", "text": "Hello"}
    assert content[2]["input"] == {"x": 1} and content[3]["input"] == {}


async def test_responses_items_sequence_and_unknown_events() -> None:
    builder = ResponseBuilder({"model": "m"})
    plain = await collect(response_events(events(False), builder))
    raw = b"".join(
        [piece async for piece in response_events(events(True), ResponseBuilder({"model": "m"}))]
    )
    assert raw.count(b": queued\n\n") == 2  # comments: the client skips them
    noisy = await collect(response_events(events(True), ResponseBuilder({"model": "m"})))
    assert [n for n, _ in plain] == [n for n, _ in noisy]
    assert [d["sequence_number"] for _, d in plain] == list(range(len(plain)))
    added = [d["item"]["type"] for n, d in plain if n == "response.output_item.added"]
    assert added == ["reasoning", "message", "function_call", "function_call"]
    done = [d["item"] for n, d in plain if n == "response.output_item.done"]
    assert [i["status"] for i in done] == ["completed"] * 4
    assert done[2]["arguments"] == '{"x":1}' and done[2]["call_id"] == "call_a"
    assert plain[-1][0] == "response.completed"
    final = plain[-1][1]["response"]
    assert final["status"] == "completed"
    assert final["usage"]["input_tokens"] == 3 and final["usage"]["output_tokens"] == 9


def _completion(message: dict[str, Any], finish: str = "stop", **choice: Any) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 6},
    }


def test_one_shot_answers_read_the_message_once() -> None:
    """Both one-shot builders read the message with `message_parts`: a call without an id
    gets one, and non-string content opens no empty block or item."""
    message = {
        "role": "assistant",
        "content": None,
        "reasoning_content": "hmm",
        "tool_calls": [
            {"id": "", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
        ],
    }
    answer = message_from_completion(_completion(message, "tool_calls"), "m", 9, None)
    assert [b["type"] for b in answer["content"]] == ["thinking", "tool_use"]
    assert answer["content"][1]["id"] and answer["content"][1]["input"] == {"a": 1}
    done = Done("tool_calls", {"prompt_tokens": 4, "completion_tokens": 6}, False, {}, "m")
    response = build_from_completion(ResponseBuilder({}), _completion(message, "tool_calls"), done)
    assert [i["type"] for i in response["output"]] == ["reasoning", "function_call"]
    assert response["output"][1]["call_id"].startswith("call_")
    empty = message_from_completion(_completion({"role": "assistant", "content": []}), "m", 1, None)
    assert empty["content"] == [] and empty["stop_reason"] == "end_turn"


def test_stop_sequence_only_when_upstream_names_a_requested_one() -> None:
    text = {"role": "assistant", "content": "Hello"}
    named = message_from_completion(_completion(text, stop_reason="END"), "m", 1, ["END"])
    assert named["stop_reason"] == "stop_sequence" and named["stop_sequence"] == "END"
    other = message_from_completion(_completion(text, stop_reason="X"), "m", 1, ["END"])
    assert other["stop_reason"] == "end_turn" and other["stop_sequence"] is None
    unsaid = message_from_completion(_completion(text), "m", 1, ["END"])
    assert unsaid["stop_sequence"] is None
