"""Reading typed parts from upstream chunks: every reasoning shape, tool-call fragments and
LM Studio's tool-call quirks, and the answers built from them."""

from __future__ import annotations

from typing import Any

from bigshot_llm.services.generation.events import (
    ReasoningDelta,
    TextDelta,
    ToolCallAssembler,
    ToolCallDelta,
)
from bigshot_llm.services.generation.extract import ChatExtractor, message_parts
from bigshot_llm.services.generation.shapes import chat_answer, repair_chat_response
from bigshot_llm.services.generation.stats import StreamStats


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_both_reasoning_fields_and_content() -> None:
    extract = ChatExtractor()
    assert extract.parts(chunk({"reasoning_content": "hmm"})) == ((ReasoningDelta("hmm"),), False)
    assert extract.parts(chunk({"reasoning": "so"})) == ((ReasoningDelta("so"),), False)
    assert extract.parts(chunk({"content": "Hi"})) == ((TextDelta("Hi"),), False)
    assert extract.parts(chunk({"role": "assistant", "content": ""})) == ((), False)


def test_think_tags_are_split_only_when_asked() -> None:
    plain = ChatExtractor()
    assert plain.parts(chunk({"content": "<think>x"})) == ((TextDelta("<think>x"),), False)
    split = ChatExtractor(split_think_tags=True)
    assert split.parts(chunk({"content": "<think>x"})) == ((ReasoningDelta("x"),), True)
    assert split.parts(chunk({"content": "</think>\n\nHi"})) == ((TextDelta("Hi"),), True)
    # From here on content is answer text, untouched (no repair needed).
    assert split.parts(chunk({"content": " there"})) == ((TextDelta(" there"),), False)


def test_lm_studio_tool_call_quirks_are_repaired() -> None:
    extract = ChatExtractor()
    # The always-present empty list carries nothing, but the chunk counts as repaired.
    assert extract.parts(chunk({"content": "", "tool_calls": []})) == ((), True)
    head = {"index": 0, "id": "", "type": "function", "function": {"name": "f", "arguments": ""}}
    (part,), repaired = extract.parts(chunk({"tool_calls": [head]}))
    assert repaired and isinstance(part, ToolCallDelta)
    assert part.index == 0 and part.name == "f" and part.id and part.id.startswith("call_")
    more = {"index": 0, "function": {"arguments": '{"a"'}}
    assert extract.parts(chunk({"tool_calls": [more]})) == (
        (ToolCallDelta(0, None, None, '{"a"'),),
        False,
    )
    second = {"index": 1, "id": "", "function": {"name": "g", "arguments": "{}"}}
    (other,), _ = extract.parts(chunk({"tool_calls": [second]}))
    assert other.id and other.id != part.id  # unique per call


def test_upstream_ids_are_kept() -> None:
    extract = ChatExtractor()
    call = {"index": 0, "id": "call_abc", "function": {"name": "f", "arguments": "{}"}}
    (part,), repaired = extract.parts(chunk({"tool_calls": [call]}))
    assert part.id == "call_abc" and not repaired


def test_assembler_completes_calls_by_index() -> None:
    calls = ToolCallAssembler()
    assert calls.feed(ToolCallDelta(0, "a", "f", '{"x":')) == []
    assert calls.feed(ToolCallDelta(0, None, None, "1}")) == []
    done = calls.feed(ToolCallDelta(1, "b", "g", ""))
    assert [c.payload() for c in done] == [
        {"index": 0, "id": "a", "type": "function", "name": "f", "arguments": '{"x":1}'}
    ]
    assert [c.name for c in calls.finish()] == ["g"]
    assert calls.finish() == []  # each call is reported once


def test_stats_time_reasoning_and_answer_separately_and_estimate_both() -> None:
    stats = StreamStats(prompt_estimate=lambda: 5)
    stats.observe(chunk({"reasoning_content": "x" * 40}))
    assert stats.first_token_at is not None and stats.first_answer_at is None
    stats.observe(chunk({"content": "y" * 8}, "stop"))
    done = stats.done_payload()
    assert done["stats"]["ttft_ms"] <= done["stats"]["time_to_answer_ms"]
    assert stats.text == "y" * 8 and stats.reasoning == "x" * 40
    # 48 characters ≈ 12 tokens: the estimate counts the reasoning too.
    assert done["usage"]["completion_tokens"] == 12 and done["usage_estimated"]
    assert done["reasoning_tokens"] == 10


def test_reported_reasoning_tokens_win() -> None:
    stats = StreamStats()
    stats.observe(chunk({"reasoning_content": "x"}))
    stats.observe(
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 3,
                "completion_tokens": 9,
                "total_tokens": 12,
                "completion_tokens_details": {"reasoning_tokens": 4},
            },
        }
    )
    done = stats.done_payload()
    assert done["reasoning_tokens"] == 4 and not done["usage_estimated"]


def test_a_tag_held_back_is_released_with_the_finish_chunk() -> None:
    stats = StreamStats(extract=ChatExtractor(split_think_tags=True))
    assert stats.observe(chunk({"content": "<thi"})) == ((), True)
    parts, repaired = stats.observe(chunk({}, "stop"))
    assert parts == (TextDelta("<thi"),) and repaired
    assert stats.text == "<thi"


def message(**fields: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "model": "m",
        "created": 1,
        "choices": [
            {"index": 0, "message": {"role": "assistant", **fields}, "finish_reason": "stop"}
        ],
    }


def test_native_answer_reads_reasoning_and_repairs_tool_calls() -> None:
    answer = chat_answer(message(content="Hi", reasoning_content="think", tool_calls=[]))
    assert answer["message"] == {"role": "assistant", "content": "Hi", "reasoning": "think"}
    called = chat_answer(
        message(
            content="",
            tool_calls=[
                {"id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        )
    )
    (call,) = called["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["function"] == {"name": "f", "arguments": "{}"}
    thought = chat_answer(message(content="<think>t</think>\nA"), split_think_tags=True)
    assert thought["message"] == {"role": "assistant", "content": "A", "reasoning": "t"}
    kept = chat_answer(message(content="<think>t</think>\nA"))
    assert kept["message"]["content"] == "<think>t</think>\nA"


def test_strict_schema_answers_are_checked() -> None:
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "n",
            "strict": True,
            "schema": {
                "type": "object",
                "required": ["n"],
                "properties": {"n": {"type": "integer"}},
            },
        },
    }
    good = chat_answer(message(content='{"n": 3}'), response_format=schema)
    assert good["parsed"] == {"n": 3} and good["parse_error"] is None
    broken = chat_answer(message(content='{"n": '), response_format=schema)
    assert broken["parsed"] is None and "not valid JSON" in broken["parse_error"]
    wrong = chat_answer(message(content='{"n": "three"}'), response_format=schema)
    assert wrong["parsed"] is None and "does not match the schema at n" in wrong["parse_error"]
    loose = {**schema, "json_schema": {**schema["json_schema"], "strict": False}}
    assert "parsed" not in chat_answer(message(content="nope"), response_format=loose)


def test_v1_repair_in_place() -> None:
    response = message(content="<think>t</think>A", tool_calls=[])
    repair_chat_response(response, split_think_tags=True)
    assert response["choices"][0]["message"] == {
        "role": "assistant",
        "content": "A",
        "reasoning_content": "t",
    }
    untouched = message(content="plain")
    repair_chat_response(untouched, split_think_tags=True)
    assert untouched["choices"][0]["message"] == {"role": "assistant", "content": "plain"}


def test_message_parts_of_object_arguments() -> None:
    parts = message_parts(
        {"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}]},
        split_think_tags=False,
    )
    assert parts.tool_calls[0].arguments == '{"x":1}' and parts.repaired
