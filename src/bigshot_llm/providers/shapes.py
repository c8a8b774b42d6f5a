"""The minimum shape of what an upstream answers, checked at the provider boundary.

Everything above the providers (both API surfaces, stream statistics, metering, the chat
buffers) reads `choices`, `delta`, `text`, `finish_reason` and `usage` without checking their
types. Any user may register a provider, so an answer that would break those readers is turned
here into an `UpstreamError` (502 `bad_upstream_response`; in a stream, the terminal error
event) instead of an `AttributeError` that ends a stream with no terminal event at all.

The checks are cheap type tests on the few fields the gateway reads; everything else passes
through untouched (the `/v1` surface relays upstream bytes as they are).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bigshot_llm.errors import UpstreamError
from bigshot_llm.providers.base import ProviderSpec

__all__ = [
    "check_answer",
    "check_embeddings",
    "check_stream_chunk",
    "has_output",
]

_TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")
_OUTPUT_FIELDS = ("content", "reasoning_content", "reasoning", "refusal")


def _bad(spec: ProviderSpec, what: str) -> UpstreamError:
    return UpstreamError(f"{spec.name} sent {what}", details={"provider": spec.name})


def _is_int(value: Any) -> bool:
    return type(value) is int and value >= 0


def _objects(
    items: Any, spec: ProviderSpec, not_list: str, not_object: str
) -> Iterator[dict[str, Any]]:
    """The objects of a list, each checked as it is reached, in order."""
    if type(items) is not list:
        raise _bad(spec, not_list)
    for item in items:
        if type(item) is not dict:
            raise _bad(spec, not_object)
        yield item


def _check_usage(usage: Any, spec: ProviderSpec, where: str) -> None:
    if usage is None:
        return
    if type(usage) is not dict:
        raise _bad(spec, f"{where} whose `usage` is not an object")
    for name in _TOKEN_FIELDS:
        value = usage.get(name)
        if value is not None and not _is_int(value):
            raise _bad(spec, f"{where} whose `usage.{name}` is not a non-negative integer")


def _check_choice_fields(choice: dict[str, Any], spec: ProviderSpec, where: str) -> None:
    reason = choice.get("finish_reason")
    if reason is not None and type(reason) is not str:
        raise _bad(spec, f"{where} whose `finish_reason` is not a string")
    text = choice.get("text")
    if text is not None and type(text) is not str:
        raise _bad(spec, f"{where} whose `text` is not a string")


def check_stream_chunk(data: dict[str, Any], spec: ProviderSpec) -> None:
    """A stream chunk: `choices` (when present) is a list of objects, each `delta` an object
    whose `content` is a string, `text` and `finish_reason` strings, `usage` an object."""
    choices = data.get("choices")
    if choices is not None:
        for choice in _objects(
            choices,
            spec,
            "a stream chunk whose `choices` is not a list",
            "a stream chunk with a choice that is not an object",
        ):
            delta = choice.get("delta")
            if delta is not None:
                if type(delta) is not dict:
                    raise _bad(spec, "a stream chunk whose `delta` is not an object")
                content = delta.get("content")
                if content is not None and type(content) is not str:
                    raise _bad(spec, "a stream chunk whose `delta.content` is not a string")
            _check_choice_fields(choice, spec, "a stream chunk")
    usage = data.get("usage")
    if usage is not None:
        _check_usage(usage, spec, "a stream chunk")


def check_answer(data: dict[str, Any], spec: ProviderSpec) -> dict[str, Any]:
    """A chat or text completion: `choices` is a non-empty list of objects, each `message`
    (chat) an object; returns `data`."""
    choices = data.get("choices")
    unusable = "an answer without a usable `choices` list"
    if not choices:
        raise _bad(spec, unusable)
    not_object = "an answer with a choice that is not an object"
    for choice in _objects(choices, spec, unusable, not_object):
        message = choice.get("message")
        if message is not None and type(message) is not dict:
            raise _bad(spec, "an answer whose `message` is not an object")
        _check_choice_fields(choice, spec, "an answer")
    _check_usage(data.get("usage"), spec, "an answer")
    return data


def check_embeddings(data: dict[str, Any], spec: ProviderSpec) -> dict[str, Any]:
    """Embeddings: `data` is a list of objects with an integer `index` (when present)."""
    for item in _objects(
        data.get("data"),
        spec,
        "an embeddings answer without a `data` list",
        "an embeddings answer with an item that is not an object",
    ):
        index = item.get("index")
        if index is not None and not _is_int(index):
            raise _bad(spec, "an embeddings answer whose `index` is not an integer")
    _check_usage(data.get("usage"), spec, "an embeddings answer")
    return data


def has_output(data: dict[str, Any]) -> bool:
    """Whether a (checked) stream chunk or answer carries any generated output: text,
    reasoning, a refusal or tool calls, in any choice."""
    for choice in data.get("choices") or ():
        text = choice.get("text")
        if text:
            return True
        for part in (choice.get("delta"), choice.get("message")):
            if not part or type(part) is not dict:
                continue
            if any(part.get(name) for name in _OUTPUT_FIELDS):
                return True
            if part.get("tool_calls") or part.get("function_call"):
                return True
    return False
