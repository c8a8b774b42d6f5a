"""Anthropic Messages requests → the pipeline's chat-completions body, and answers back.

Requests: `system` (string or text blocks) becomes a system message; text and image blocks
become content parts; an assistant's `tool_use` blocks become its `tool_calls`, a user's
`tool_result` blocks become `tool` messages (before the rest of that user turn, as OpenAI
orders them); thinking blocks sent back are dropped. `tools`/`tool_choice`, `stop_sequences`,
`top_k`, `thinking` (→ `reasoning_effort`) are mapped; fields the gateway does not use are
ignored. Answers: a chat completion → a Messages `message` (thinking, text, tool_use blocks).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from bigshot_llm.api.chat_shape import hoist_system
from bigshot_llm.errors import BadRequest
from bigshot_llm.schemas.anthropic import AnthropicMessagesRequest, AnthropicThinking

__all__ = [
    "chat_body",
    "message_id",
    "parse_arguments",
    "stop_reason",
    "tool_use_id",
]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def tool_use_id() -> str:
    return "toolu_" + secrets.token_hex(12)


def stop_reason(finish_reason: str | None) -> str:
    """OpenAI's `finish_reason` → Anthropic's `stop_reason`."""
    return STOP_REASONS.get(finish_reason or "stop", "end_turn")


def parse_arguments(arguments: str) -> dict[str, Any]:
    """A tool call's JSON arguments as the object `tool_use.input` must be."""
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"arguments": arguments}  # the model wrote no JSON: keep what it said
    return value if isinstance(value, dict) else {"value": value}


def _text_of(blocks: Any, where: str) -> str:
    """The text of a `system` value or a `tool_result`'s content (string or blocks)."""
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        return ""
    texts = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise BadRequest(f"{where}.{i}: a content block must be an object", param=where)
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") != "image":  # images in tool results: see `_tool_result`
            raise BadRequest(
                f"{where}.{i}: block type {block.get('type')!r} is not supported here (text only)",
                param=f"{where}.{i}.type",
            )
    return "\n".join(texts)


def _image_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequest(f"{where}.source: an image needs a source", param=f"{where}.source")
    kind = source.get("type")
    if kind == "base64":
        media, data = source.get("media_type"), source.get("data")
        if not isinstance(media, str) or not isinstance(data, str):
            raise BadRequest(
                f"{where}.source: base64 images need media_type and data",
                param=f"{where}.source",
            )
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    if kind == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise BadRequest(
        f"{where}.source.type {kind!r} is not supported (base64 or url)",
        param=f"{where}.source.type",
    )


def _tool_result(block: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """A `tool_result` → a `tool` message (its images follow as a user message)."""
    content = block.get("content")
    text = _text_of(content, f"{where}.content")
    if block.get("is_error"):
        text = f"Error: {text}" if text else "Error"
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise BadRequest(f"{where}.tool_use_id is required", param=f"{where}.tool_use_id")
    out: list[dict[str, Any]] = [{"role": "tool", "tool_call_id": call_id, "content": text}]
    images = [
        _image_part(b, f"{where}.content.{i}")
        for i, b in enumerate(content if isinstance(content, list) else ())
        if isinstance(b, dict) and b.get("type") == "image"
    ]
    if images:
        out.append({"role": "user", "content": images})
    return out


def _user_messages(content: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for i, block in enumerate(content):
        at, kind = f"{where}.{i}", block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            parts.append(_image_part(block, at))
        elif kind == "tool_result":
            tools.extend(_tool_result(block, at))
        elif kind in ("tool_use", "thinking", "redacted_thinking"):
            raise BadRequest(f"{at}: a user message cannot hold a {kind} block", param=at)
    out = tools
    if parts:
        only_text = all(p["type"] == "text" for p in parts)
        out.append(
            {
                "role": "user",
                "content": "\n".join(p["text"] for p in parts) if only_text else parts,
            }
        )
    return out


def _assistant_message(content: list[dict[str, Any]], where: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for i, block in enumerate(content):
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            name = block.get("name")
            if not isinstance(name, str) or not name:
                raise BadRequest(f"{where}.{i}.name is required", param=f"{where}.{i}.name")
            calls.append(
                {
                    "id": str(block.get("id") or tool_use_id()),
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
        elif kind in ("image", "tool_result"):
            raise BadRequest(
                f"{where}.{i}: an assistant message cannot hold a {kind} block",
                param=f"{where}.{i}",
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def chat_messages(request: AnthropicMessagesRequest | Any) -> list[dict[str, Any]]:
    """The request's `system` and `messages` as chat-completions messages."""
    out: list[dict[str, Any]] = []
    system = _text_of(request.system, "system") if request.system is not None else ""
    if system:
        out.append({"role": "system", "content": system})
    for i, message in enumerate(request.messages):
        where = f"messages.{i}.content"
        content = message.content
        if message.role == "system":
            out.append({"role": "system", "content": _text_of(content, where)})
        elif isinstance(content, str):
            out.append({"role": message.role, "content": content})
        elif message.role == "user":
            out.extend(_user_messages(content, where))
        else:
            out.append(_assistant_message(content, where))
    return hoist_system(out)


def _tools(request: AnthropicMessagesRequest | Any) -> list[dict[str, Any]]:
    tools = []
    for i, tool in enumerate(request.tools or ()):
        if tool.type not in (None, "custom"):
            raise BadRequest(
                f"tools.{i}: the server tool {tool.type!r} is not available on this gateway; "
                "only client tools (name, description, input_schema) are",
                param=f"tools.{i}.type",
            )
        function: dict[str, Any] = {
            "name": tool.name,
            "parameters": tool.input_schema or {"type": "object", "properties": {}},
        }
        if tool.description:
            function["description"] = tool.description
        tools.append({"type": "function", "function": function})
    return tools


def _tool_choice(choice: dict[str, Any], body: dict[str, Any]) -> None:
    kind = choice.get("type")
    if choice.get("disable_parallel_tool_use"):
        body["parallel_tool_calls"] = False
    if kind == "auto":
        body["tool_choice"] = "auto"
    elif kind == "any":
        body["tool_choice"] = "required"
    elif kind == "none":
        body["tool_choice"] = "none"
    elif kind == "tool" and isinstance(choice.get("name"), str):
        body["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise BadRequest(
            f"tool_choice.type {kind!r} is not one of auto, any, tool (with a name), none",
            param="tool_choice.type",
        )


def reasoning_effort(thinking: AnthropicThinking) -> str | None:
    """`thinking` → `reasoning_effort`: off when disabled, by budget when enabled."""
    if thinking.type == "disabled":
        return "none"
    budget = thinking.budget_tokens
    if thinking.type == "adaptive" or budget is None:
        return None  # the model's own default
    if budget < 4096:
        return "low"
    return "medium" if budget < 16384 else "high"


def chat_body(request: AnthropicMessagesRequest) -> dict[str, Any]:
    """The chat-completions body the pipeline sends upstream (model set by the pipeline)."""
    body: dict[str, Any] = {
        "messages": chat_messages(request),
        "max_tokens": request.max_tokens,
    }
    for name in ("temperature", "top_p", "top_k"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.stop_sequences:
        body["stop"] = request.stop_sequences[:4]  # OpenAI-compatible servers take four
    tools = _tools(request)
    if tools:
        body["tools"] = tools
        if request.tool_choice:
            _tool_choice(request.tool_choice, body)
    if request.thinking is not None:
        effort = reasoning_effort(request.thinking)
        if effort is not None:
            body["reasoning_effort"] = effort
    return body
