"""Responses API requests → the pipeline's chat-completions body.

`instructions` becomes the system message (not inherited by a chained request, as OpenAI
defines it); a stored previous response contributes its history; input items become
messages: `message` items (system/developer → system), `function_call` items join the
preceding assistant message's `tool_calls`, `function_call_output` items become `tool`
messages, `reasoning` items are dropped. Function tools, `tool_choice`, `reasoning.effort`,
`max_output_tokens` and `text.format` (structured output) are mapped; tools of a hosted type
(`web_search`, `file_search`, …) are left out with a warning.
"""

from __future__ import annotations

from typing import Any

from bigshot_llm.api.chat_shape import hoist_system
from bigshot_llm.errors import BadRequest
from bigshot_llm.schemas.responses_api import ResponsesRequest

__all__ = ["chat_body", "input_items", "input_messages", "native_body"]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or p.get("refusal") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") != "input_image"
        )
    return ""


def _parts(content: list[dict[str, Any]], where: str) -> str | list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                raise BadRequest(
                    f"{where}.{j}: input_image needs an image_url (file_id is not supported)",
                    param=f"{where}.{j}.image_url",
                )
            image: dict[str, Any] = {"url": url}
            if isinstance(part.get("detail"), str):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            parts.append(
                {"type": "text", "text": str(part.get("text") or part.get("refusal") or "")}
            )
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def input_messages(items: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request's `input` as chat messages (no system instructions)."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        kind = item.get("type", "message")
        where = f"input.{i}.content"
        if kind == "message":
            role = item["role"]
            content = item.get("content")
            role = "system" if role == "developer" else role
            if role == "assistant":
                out.append({"role": "assistant", "content": _text(content)})
            else:
                out.append(
                    {
                        "role": role,
                        "content": _parts(content, where) if isinstance(content, list) else content,
                    }
                )
        elif kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments") or "{}"},
            }
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            out.append({"role": "tool", "tool_call_id": item["call_id"], "content": _text(output)})
        # `reasoning` items: dropped
    return out


def _tools(tools: list[dict[str, Any]], warnings: list[str]) -> list[dict[str, Any]]:
    out = []
    skipped = []
    for i, tool in enumerate(tools):
        kind = tool.get("type")
        if kind != "function":
            skipped.append(str(kind))
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest(f"tools.{i}.name is required", param=f"tools.{i}.name")
        function: dict[str, Any] = {
            "name": name,
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
        }
        if tool.get("description"):
            function["description"] = tool["description"]
        if tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
    if skipped:
        warnings.append(
            f"tools of type {', '.join(sorted(set(skipped)))} are not available on this "
            "gateway and were left out"
        )
    return out


def _tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise BadRequest(
                f"tool_choice {choice!r} is not one of auto, none, required",
                param="tool_choice",
            )
        return choice
    if choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    return "auto"  # hosted-tool and allowed_tools choices: let the model pick


def _response_format(text: dict[str, Any]) -> dict[str, Any] | None:
    fmt = text.get("format")
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    if fmt["type"] == "json_schema":
        schema = fmt.get("schema")
        if not isinstance(schema, dict):
            raise BadRequest("text.format.schema must be a JSON schema", param="text.format.schema")
        spec: dict[str, Any] = {"name": fmt.get("name") or "response", "schema": schema}
        if fmt.get("strict") is not None:
            spec["strict"] = fmt["strict"]
        return {"type": "json_schema", "json_schema": spec}
    raise BadRequest(
        f"text.format.type {fmt['type']!r} is not one of text, json_object, json_schema",
        param="text.format.type",
    )


def chat_body(
    request: ResponsesRequest,
    conversation: list[dict[str, Any]],
    warnings: list[str],
) -> dict[str, Any]:
    """The chat-completions body for `conversation` (history + this input)."""
    messages = list(conversation)
    if request.instructions:
        messages.insert(0, {"role": "system", "content": request.instructions})
    body: dict[str, Any] = {"messages": hoist_system(messages)}
    if request.max_output_tokens is not None:
        body["max_tokens"] = request.max_output_tokens
    for name in ("temperature", "top_p", "parallel_tool_calls"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    tools = _tools(request.tools or [], warnings)
    if tools:
        body["tools"] = tools
        if request.tool_choice is not None:
            body["tool_choice"] = _tool_choice(request.tool_choice)
    else:
        body.pop("parallel_tool_calls", None)
    if request.reasoning is not None and request.reasoning.effort is not None:
        effort = request.reasoning.effort
        body["reasoning_effort"] = "high" if effort == "xhigh" else effort
    if request.text:
        response_format = _response_format(request.text)
        if response_format is not None:
            body["response_format"] = response_format
    return body


def _input_parts(content: Any) -> Any:
    """Chat content → Responses content (text stays a string; parts become input parts)."""
    if not isinstance(content, list):
        return content if isinstance(content, str) else ""
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "image_url":
            holder = part.get("image_url")
            url = holder.get("url") if isinstance(holder, dict) else holder
            parts.append({"type": "input_image", "image_url": url})
        else:
            parts.append({"type": "input_text", "text": str(part.get("text") or "")})
    return parts


def input_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages (a stored response's history) → Responses input items: what a native
    upstream is sent instead of a `previous_response_id` it would not know."""
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id"),
                    "output": _text(message.get("content")),
                }
            )
            continue
        content = message.get("content")
        if role == "assistant":
            if content:
                items.append({"type": "message", "role": "assistant", "content": _text(content)})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id"),
                        "name": function.get("name"),
                        "arguments": function.get("arguments") or "{}",
                    }
                )
            continue
        items.append({"type": "message", "role": role, "content": _input_parts(content)})
    return items


def native_body(raw: dict[str, Any], history: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The client's JSON for a native upstream: a `previous_response_id` (the gateway's id,
    unknown upstream) becomes the stored history, as input items before the new input."""
    if history is None:
        return raw
    given = raw.get("input")
    new = (
        [{"type": "message", "role": "user", "content": given}] if isinstance(given, str) else given
    )
    body = {k: v for k, v in raw.items() if k != "previous_response_id"}
    body["input"] = input_items(history) + list(new or ())
    return body
