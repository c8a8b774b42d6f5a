"""A simulated reply (`features.Reply`) → an Anthropic `message` or a Responses `response`,
whole or as the API's event stream.

Anthropic: `message_start`, `ping`, then per block (thinking, text, tool_use)
`content_block_start` / `content_block_delta` / `content_block_stop`, then `message_delta`
(stop reason, the matched stop sequence, output tokens) and `message_stop`. Responses:
`response.created`, `response.in_progress`, per output item `response.output_item.added`
(+ `content_part.added`), its deltas, its `….done` events and `response.output_item.done`,
then `response.completed` (or `response.incomplete` at the token limit); every event has its
`sequence_number`. Each event is `(frame, is_token)`: token events wait the token delay.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

from bigshot_llm.sim.features import Reply, fragments

Frames = list[tuple[bytes, bool]]

ANTHROPIC_STOP = {"length": "max_tokens", "tool_calls": "tool_use"}


def event_frame(kind: str, data: dict[str, Any]) -> bytes:
    """`event: kind` + `data: {json}`."""
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _id(prefix: str, size: int = 12) -> str:
    return f"{prefix}_{secrets.token_hex(size)}"


def _thought(reply: Reply) -> str:
    return "".join(reply.reasoning) if reply.style != "none" else ""


# ---- Anthropic ------------------------------------------------------------------------------


def _stop(reply: Reply) -> tuple[str, str | None]:
    matched = reply.answer.stop_sequence if not reply.tool_calls else None
    if matched:
        return "stop_sequence", matched
    return ANTHROPIC_STOP.get(reply.finish_reason, "end_turn"), None


def _tool_blocks(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "type": "tool_use",
            "id": _id("toolu"),
            "name": c["name"],
            "input": orjson.loads(c["arguments"]),
        }
        for c in reply.tool_calls
    ]


def anthropic_message(reply: Reply, model: str, prompt_tokens: int) -> dict[str, Any]:
    """The non-streaming `message`."""
    content: list[dict[str, Any]] = []
    if _thought(reply):
        content.append({"type": "thinking", "thinking": _thought(reply), "signature": ""})
    if reply.answer.text:
        content.append({"type": "text", "text": reply.answer.text})
    content.extend(_tool_blocks(reply))
    stop_reason, stop_sequence = _stop(reply)
    return {
        "id": _id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": prompt_tokens, "output_tokens": reply.completion_tokens},
    }


def anthropic_frames(reply: Reply, model: str, prompt_tokens: int) -> Frames:
    """The event stream of the same message."""
    whole = anthropic_message(reply, model, prompt_tokens)
    head = {**whole, "content": [], "stop_reason": None, "stop_sequence": None}
    head["usage"] = {"input_tokens": prompt_tokens, "output_tokens": 0}
    out: Frames = [
        (event_frame("message_start", {"type": "message_start", "message": head}), False),
        (event_frame("ping", {"type": "ping"}), False),
    ]

    def block(index: int, start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        begin = {"type": "content_block_start", "index": index, "content_block": start}
        out.append((event_frame("content_block_start", begin), False))
        for delta in deltas:
            data = {"type": "content_block_delta", "index": index, "delta": delta}
            out.append((event_frame("content_block_delta", data), True))
        stop = {"type": "content_block_stop", "index": index}
        out.append((event_frame("content_block_stop", stop), False))

    index = 0
    if _thought(reply):
        start = {"type": "thinking", "thinking": "", "signature": ""}
        block(index, start, [{"type": "thinking_delta", "thinking": p} for p in reply.reasoning])
        index += 1
    if reply.answer.text:
        deltas = [{"type": "text_delta", "text": p} for p in reply.answer.pieces if p]
        block(index, {"type": "text", "text": ""}, deltas)
        index += 1
    for call, tool in zip(reply.tool_calls, _tool_blocks(reply), strict=True):
        deltas = [
            {"type": "input_json_delta", "partial_json": p} for p in fragments(call["arguments"])
        ]
        block(index, {**tool, "input": {}}, deltas)
        index += 1
    delta = {"stop_reason": whole["stop_reason"], "stop_sequence": whole["stop_sequence"]}
    usage = {"output_tokens": reply.completion_tokens}
    end = {"type": "message_delta", "delta": delta, "usage": usage}
    out.append((event_frame("message_delta", end), False))
    out.append((event_frame("message_stop", {"type": "message_stop"}), False))
    return out


# ---- Responses ------------------------------------------------------------------------------


def _output(reply: Reply) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if _thought(reply):
        thought = {"type": "reasoning_text", "text": _thought(reply)}
        items.append(
            {"id": _id("rs", 16), "type": "reasoning", "summary": [], "content": [thought]}
        )
    if reply.answer.text:
        part: dict[str, Any] = {"type": "output_text", "text": reply.answer.text}
        part.update(annotations=[], logprobs=[])
        items.append(
            {"id": _id("msg", 16), "type": "message", "role": "assistant", "content": [part]}
        )
    for call in reply.tool_calls:
        items.append(
            {
                "id": _id("fc", 16),
                "type": "function_call",
                "call_id": _id("call"),
                "name": call["name"],
                "arguments": call["arguments"],
            }
        )
    for item in items:
        item["status"] = "completed"
    return items


def response_object(
    reply: Reply, model: str, prompt_tokens: int, body: dict[str, Any]
) -> dict[str, Any]:
    """The non-streaming `response`."""
    incomplete = reply.finish_reason == "length"
    reasoning = len(reply.reasoning) if reply.style != "none" else 0
    return {
        "id": _id("resp", 16),
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "model": model,
        "instructions": body.get("instructions"),
        "previous_response_id": body.get("previous_response_id"),
        "output": _output(reply),
        "tools": body.get("tools") or [],
        "parallel_tool_calls": True,
        "tool_choice": body.get("tool_choice") or "auto",
        "usage": {
            "input_tokens": prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": reply.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt_tokens + reply.completion_tokens,
        },
    }


def response_frames(whole: dict[str, Any], reply: Reply) -> Frames:
    """The event stream of `whole` (made by `response_object` from the same reply)."""
    out: Frames = []
    seq = 0

    def emit(kind: str, token: bool = False, **fields: Any) -> None:
        nonlocal seq
        out.append((event_frame(kind, {"type": kind, "sequence_number": seq, **fields}), token))
        seq += 1

    head = {**whole, "status": "in_progress", "output": [], "usage": None}
    head["incomplete_details"] = None
    emit("response.created", response=head)
    emit("response.in_progress", response=head)
    calls = iter(reply.tool_calls)
    for index, item in enumerate(whole["output"]):
        where = {"item_id": item["id"], "output_index": index}
        kind = item["type"]
        added = {**item, "status": "in_progress"}
        if "content" in added:
            added["content"] = []
        emit("response.output_item.added", output_index=index, item=added)
        if kind == "function_call":
            for piece in fragments(next(calls)["arguments"]):
                emit("response.function_call_arguments.delta", True, **where, delta=piece)
            arguments = {"name": item["name"], "arguments": item["arguments"]}
            emit("response.function_call_arguments.done", **where, **arguments)
        else:
            part = item["content"][0]
            emit("response.content_part.added", **where, content_index=0, part={**part, "text": ""})
            text_kind = "output_text" if kind == "message" else "reasoning_text"
            pieces = reply.answer.pieces if kind == "message" else reply.reasoning
            extra: dict[str, Any] = {"logprobs": []} if kind == "message" else {}
            for piece in (p for p in pieces if p):
                emit(
                    f"response.{text_kind}.delta",
                    True,
                    **where,
                    content_index=0,
                    delta=piece,
                    **extra,
                )
            emit(f"response.{text_kind}.done", **where, content_index=0, text=part["text"], **extra)
            emit("response.content_part.done", **where, content_index=0, part=part)
        emit("response.output_item.done", output_index=index, item=item)
    emit(f"response.{whole['status']}", response=whole)
    return out


def remembered(chat: list[dict[str, Any]], reply: Reply) -> list[dict[str, Any]]:
    """The history a chained response continues: the conversation plus this answer."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.answer.text}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": "", "type": "function", "function": dict(c)} for c in reply.tool_calls
        ]
    return [m for m in chat if m.get("role") != "system"] + [message]
