"""Anthropic Messages and OpenAI Responses requests → the chat body the simulator answers.

LM Studio (0.4.1+ for `/v1/messages`, 0.3.29+ for `/v1/responses`) runs both APIs on the
same engine as chat completions; the simulator does the same: each request becomes a chat
body and goes through the one chat path (`features.plan_chat`), and only the rendering of
the answer differs (`agent_answers`). A `previous_response_id` continues a response the
simulator stored, as LM Studio's stateful Responses API does.
"""

from __future__ import annotations

from typing import Any

import orjson

from bigshot_llm.sim.state import SimState


class BadAgentRequest(ValueError):
    """The request cannot be answered: `message` says why, `param` where."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text") or "") for b in content if isinstance(b, dict))
    return ""


def _anthropic_image(block: dict[str, Any]) -> dict[str, Any]:
    given = block.get("source")
    source: dict[str, Any] = given if isinstance(given, dict) else {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    else:
        url = str(source.get("url") or "")
    return {"type": "image_url", "image_url": {"url": url}}


def _anthropic_message(message: dict[str, Any]) -> list[dict[str, Any]]:
    role, content = message.get("role"), message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise BadAgentRequest("messages: content must be a string or a list of blocks")
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text") or "")})
        elif kind == "image":
            parts.append(_anthropic_image(block))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": block.get("name"), "arguments": arguments}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
        elif kind == "tool_result":
            result = {"role": "tool", "tool_call_id": block.get("tool_use_id")}
            out.append({**result, "content": _text(block.get("content"))})
    if role == "assistant":
        text = "".join(p.get("text", "") for p in parts)
        out.append(
            {"role": "assistant", "content": text, **({"tool_calls": calls} if calls else {})}
        )
    elif parts:
        texts = all(p["type"] == "text" for p in parts)
        out.append(
            {"role": role, "content": " ".join(p["text"] for p in parts) if texts else parts}
        )
    return out


def _anthropic_choice(choice: Any) -> Any:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return {"any": "required", "none": "none"}.get(str(kind), "auto")


def messages_chat_body(body: dict[str, Any]) -> dict[str, Any]:
    """A `/v1/messages` body → chat completions."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadAgentRequest("messages: field required (a non-empty list)", "messages")
    if not isinstance(body.get("max_tokens"), int):
        raise BadAgentRequest("max_tokens: field required", "max_tokens")
    chat: list[dict[str, Any]] = []
    system = _text(body.get("system"))
    if system:
        chat.append({"role": "system", "content": system})
    for message in messages:
        if not isinstance(message, dict):
            raise BadAgentRequest("messages: each message must be an object", "messages")
        chat.extend(_anthropic_message(message))
    out: dict[str, Any] = {
        "model": body.get("model"),
        "messages": chat,
        "max_tokens": body["max_tokens"],
    }
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    tools = [t for t in body.get("tools") or () if isinstance(t, dict)]
    if tools:
        out["tools"] = [
            {
                "type": "function",
                "function": {"name": t.get("name"), "parameters": t.get("input_schema") or {}},
            }
            for t in tools
        ]
        out["tool_choice"] = _anthropic_choice(body.get("tool_choice"))
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "disabled":
        out["reasoning_effort"] = "off"
    return out


def _response_parts(content: Any) -> Any:
    if not isinstance(content, list):
        return content if isinstance(content, str) else ""
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "input_image":
            parts.append({"type": "image_url", "image_url": {"url": part.get("image_url")}})
        else:
            parts.append({"type": "text", "text": str(part.get("text") or "")})
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _input_messages(items: Any) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise BadAgentRequest("input: must be a string or a list of items", "input")
    out: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise BadAgentRequest("input: each item must be an object", "input")
        kind = item.get("type", "message")
        if kind == "message":
            role = "system" if item.get("role") == "developer" else item.get("role")
            out.append({"role": role, "content": _response_parts(item.get("content"))})
        elif kind == "function_call":
            function = {"name": item.get("name"), "arguments": item.get("arguments") or "{}"}
            call = {"id": item.get("call_id"), "type": "function", "function": function}
            last = out[-1] if out else None
            if last is not None and last.get("role") == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else _text(output)
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
    return out


def responses_chat_body(state: SimState, body: dict[str, Any]) -> dict[str, Any]:
    """A `/v1/responses` body → chat completions (with the stored history it continues)."""
    if "input" not in body:
        raise BadAgentRequest("input: field required", "input")
    history: list[dict[str, Any]] = []
    previous = body.get("previous_response_id")
    if previous is not None:
        stored = state.stored_responses.get(str(previous))
        if stored is None:
            raise BadAgentRequest(
                f"Response with id '{previous}' not found.", "previous_response_id"
            )
        history = list(stored)
    chat = history + _input_messages(body["input"])
    if body.get("instructions"):
        chat.insert(0, {"role": "system", "content": str(body["instructions"])})
    out: dict[str, Any] = {"model": body.get("model"), "messages": chat}
    if isinstance(body.get("max_output_tokens"), int):
        out["max_tokens"] = body["max_output_tokens"]
    functions = [
        t for t in body.get("tools") or () if isinstance(t, dict) and t.get("type") == "function"
    ]
    if functions:
        out["tools"] = [
            {
                "type": "function",
                "function": {"name": t.get("name"), "parameters": t.get("parameters") or {}},
            }
            for t in functions
        ]
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif isinstance(choice, str):
            out["tool_choice"] = choice
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        out["reasoning_effort"] = reasoning["effort"]
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.get("name"), "schema": fmt.get("schema")},
        }
    return out
