"""What the simulated models do beyond plain text, with LM Studio's quirks.

* Reasoning: `qwen3-8b` streams `delta.reasoning_content`, `gpt-oss-20b` streams
  `delta.reasoning`, `deepseek-r1-distill-qwen-7b` writes an inline `<think>` block into
  `content` (with the tags cut across chunks, as a tokenizer does); then the answer.
  `reasoning_effort: "off"` (or "none") turns reasoning off for models that allow it.
* Tools: a model trained for tool use calls a tool when `tools` are given (the ones the last
  user message names, else the first; `tool_choice` may name one or say "none"), arguments
  made from the tool's JSON schema, streamed in fragments; the quirks: call ids are empty and
  every message carries `tool_calls` (an empty list when there are none). After a `tool`
  message it answers in text that quotes the result.
* Images: only a VLM reads them, and only as base64 data URLs; anything else is refused the
  way LM Studio refuses it. The answer says what it saw.
* Stop strings: the choice that a `stop` string ended names it in `stop_reason`, as vLLM
  does (LM Studio does not say which one matched).
* Structured output: `json_schema` answers with JSON made from the schema (`state.
  structured_output_broken` makes it invalid); `json_object` is refused with 400.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from bigshot_llm.sim import generation as gen
from bigshot_llm.sim.common import openai_error
from bigshot_llm.sim.state import ModelSpec, SimState

BASE64_REFUSAL = "'url' field must be a base64 encoded image."
NO_VISION = "Model does not support images. Please use a model that does."
JSON_OBJECT_REFUSAL = "'response_format.type' must be 'json_schema' or 'text'"
_DATA_URL = re.compile(r"^data:(image/[A-Za-z0-9.+-]+);base64,(.*)$", re.S)


@dataclass
class Reply:
    """One answer: reasoning pieces, answer pieces, tool calls, and how it ended."""

    answer: gen.Answer
    style: str = "none"
    reasoning: tuple[str, ...] = ()
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    tools_quirk: bool = False  # a tool-trained model: `tool_calls: []` on every message

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else self.answer.finish_reason

    @property
    def completion_tokens(self) -> int:
        pieces = sum(len(fragments(c["arguments"])) + 1 for c in self.tool_calls)
        return self.answer.completion_tokens + len(self.reasoning) + pieces

    def usage(self, prompt_tokens: int) -> dict[str, Any]:
        usage: dict[str, Any] = gen.usage(prompt_tokens, self.completion_tokens)
        if self.style in ("reasoning_content", "reasoning"):
            usage["completion_tokens_details"] = {"reasoning_tokens": len(self.reasoning)}
        return usage


def _images(messages: list[dict[str, Any]]) -> list[str]:
    urls = []
    for message in messages:
        content = message.get("content")
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and part.get("type") == "image_url":
                holder = part.get("image_url")
                url = holder.get("url") if isinstance(holder, dict) else holder
                urls.append(url if isinstance(url, str) else "")
    return urls


def _seen(urls: list[str]) -> str | Response:
    """What the model says it saw, or LM Studio's refusal of a non-base64 image."""
    seen = []
    for url in urls:
        match = _DATA_URL.match(url)
        if match is None:
            return openai_error(400, BASE64_REFUSAL)
        try:
            size = len(base64.b64decode(match.group(2), validate=True))
        except (binascii.Error, ValueError):
            return openai_error(400, BASE64_REFUSAL)
        seen.append(f"{match.group(1)} of {size} bytes")
    return f"I see {len(seen)} image(s): {', '.join(seen)}. "


def sample(schema: Any, hint: str = "value") -> Any:
    """A deterministic value that satisfies a (simple) JSON schema."""
    if not isinstance(schema, dict):
        return hint
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return sample(options[0], hint)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        given = schema.get("properties")
        props: dict[str, Any] = given if isinstance(given, dict) else {}
        return {name: sample(sub, name) for name, sub in props.items()}
    if kind == "array":
        return [sample(schema.get("items"), hint)]
    if kind == "integer":
        return int(schema.get("minimum", 7))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return hint if kind == "string" else {}


def fragments(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _chosen_tools(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    tools = [t for t in body.get("tools") or () if isinstance(t, dict)]
    functions = [t["function"] for t in tools if isinstance(t.get("function"), dict)]
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return []
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return [f for f in functions if f.get("name") == name][:1]
    named = [f for f in functions if isinstance(f.get("name"), str) and f["name"] in key]
    return named or functions[:1]


def _effort_off(body: dict[str, Any], spec: ModelSpec) -> bool:
    effort = body.get("reasoning_effort")
    return effort in ("off", "none") and "off" in spec.reasoning_options


def plan_chat(
    state: SimState, spec: ModelSpec, body: dict[str, Any], messages: list[dict[str, Any]]
) -> Reply | Response:
    """The reply a chat request gets, or the error LM Studio would answer with."""
    key = gen.chat_prompt_key(messages)
    seed = f"{state.seed}:{body.get('seed', '')}"
    prefix = ""
    urls = _images(messages)
    if urls:
        if spec.type != "vlm":
            return openai_error(400, NO_VISION)
        seen = _seen(urls)
        if isinstance(seen, Response):
            return seen
        prefix = seen
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        prefix += f"The tool said: {gen.content_text(last.get('content'))}. "
    given = body.get("response_format")
    response_format: dict[str, Any] = given if isinstance(given, dict) else {}
    kind = response_format.get("type")
    if kind == "json_object":
        return openai_error(400, JSON_OBJECT_REFUSAL, param="response_format")
    quirk = spec.trained_for_tool_use
    calls: list[dict[str, str]] = []
    if quirk and last.get("role") != "tool":
        for function in _chosen_tools(body, key):
            arguments = orjson.dumps(sample(function.get("parameters"), "value")).decode()
            calls.append({"name": str(function.get("name")), "arguments": arguments})
    if calls:
        answer = gen.Answer((), "stop")
    elif kind == "json_schema":
        spec_ = response_format.get("json_schema")
        schema = spec_.get("schema") if isinstance(spec_, dict) else None
        text = orjson.dumps(sample(schema, key.split(" ")[0] or "value")).decode()
        if state.structured_output_broken:
            text = text[: max(1, len(text) // 2)]
        answer = gen.Answer(tuple(fragments(text, 4)), "stop")
    else:
        answer = gen.make_answer(key, seed, state.tokens, body.get("max_tokens"), body.get("stop"))
        if prefix:
            answer = gen.Answer(
                (prefix, *answer.pieces), answer.finish_reason, None, answer.stop_sequence
            )
    style = spec.reasoning if not _effort_off(body, spec) else "none"
    reasoning: tuple[str, ...] = ()
    if style != "none":
        reasoning = tuple(gen.generate_pieces(key, seed + ":thinking", state.reasoning_tokens))
    return Reply(answer, style, reasoning, calls, quirk)


def _message(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.answer.text}
    thought = "".join(reply.reasoning)
    if reply.style == "think_tags":
        message["content"] = f"<think>{thought}</think>\n\n{reply.answer.text}"
    elif reply.style != "none":
        message[reply.style] = thought
    if reply.tools_quirk or reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": "",
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in reply.tool_calls
        ]
    return message


def _stop_reason(reply: Reply) -> dict[str, str]:
    """vLLM's `stop_reason`: the stop string that ended the answer (none when none did)."""
    matched = reply.answer.stop_sequence
    return {"stop_reason": matched} if matched and not reply.tool_calls else {}


def chat_response(
    cid: str, created: int, model: str, reply: Reply, prompt_tokens: int
) -> dict[str, Any]:
    """Non-streaming ``chat.completion`` body."""
    one = gen.choice("message", _message(reply), reply.finish_reason, **_stop_reason(reply))
    usage = reply.usage(prompt_tokens)
    return gen.completion_body(cid, "chat.completion", created, model, one, usage)


def chat_chunks(
    cid: str,
    created: int,
    model: str,
    reply: Reply,
    prompt_tokens: int,
    include_usage: bool,
    tools_given: bool,
) -> list[tuple[dict[str, Any], bool]]:
    """Stream chunks as ``(chunk, is_token)``: role, reasoning, answer or tool calls, final,
    usage."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        if reply.tools_quirk and tools_given and "tool_calls" not in delta:
            delta = {**delta, "tool_calls": []}
        one = gen.choice("delta", delta, finish, **extra)
        return gen.chunk_body(cid, "chat.completion.chunk", created, model, one)

    out = [(chunk({"role": "assistant", "content": ""}), False)]
    if reply.style == "think_tags":
        content = ["<thi", "nk>", *reply.reasoning, "</th", "ink>\n\n"]
        out.extend((chunk({"content": piece}), True) for piece in content)
    elif reply.style != "none":
        out.extend((chunk({reply.style: piece}), True) for piece in reply.reasoning)
    out.extend((chunk({"content": piece}), True) for piece in reply.answer.pieces)
    for index, call in enumerate(reply.tool_calls):
        head = {"index": index, "id": "", "type": "function"}
        out.append(
            (
                chunk(
                    {"tool_calls": [{**head, "function": {"name": call["name"], "arguments": ""}}]}
                ),
                True,
            )
        )
        for piece in fragments(call["arguments"]):
            fragment = {"index": index, "function": {"arguments": piece}}
            out.append((chunk({"tool_calls": [fragment]}), True))
    out.append((chunk({}, reply.finish_reason, **_stop_reason(reply)), False))
    if include_usage:
        usage = reply.usage(prompt_tokens)
        out.append(
            (gen.chunk_body(cid, "chat.completion.chunk", created, model, None, usage), False)
        )
    return out
