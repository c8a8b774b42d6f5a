"""Structured output: `response_format` adapted per upstream, and answers checked against it.

LM Studio refuses `{"type": "json_object"}` with a 400 but accepts a JSON schema, so for LM
Studio providers it becomes `json_schema` with `{"type": "object"}` (the same promise: some
JSON object). OpenAI understands `json_object` and gets it unchanged.

An answer to a `json_schema` request with `strict: true` is parsed and validated: the native
API reports `parsed` (the value) and `parse_error` (why there is none) instead of passing an
invalid answer on as if it were fine.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import orjson

__all__ = ["adapt_response_format", "check_answer", "is_strict_schema"]

JSON_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "json_object", "schema": {"type": "object"}},
}


def adapt_response_format(body: dict[str, Any], kind: str) -> None:
    """`json_object` → an object schema, in place, for upstreams that refuse it."""
    response_format = body.get("response_format")
    if kind == "lmstudio" and isinstance(response_format, dict):
        if response_format.get("type") == "json_object":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {**JSON_OBJECT_SCHEMA["json_schema"]},
            }


def is_strict_schema(response_format: Any) -> bool:
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return False
    spec = response_format.get("json_schema")
    return isinstance(spec, dict) and spec.get("strict") is True


def check_answer(text: str, response_format: Any) -> dict[str, Any] | None:
    """`{"parsed", "parse_error"}` for a strict `json_schema` request, else None."""
    if not is_strict_schema(response_format):
        return None
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return {"parsed": None, "parse_error": f"the answer is not valid JSON: {exc}"}
    schema = response_format["json_schema"].get("schema")
    if isinstance(schema, dict):
        try:
            validator = jsonschema_rs.validator_for(schema)
        except ValueError:
            return {"parsed": parsed, "parse_error": None}  # refused at validation already
        error = next(iter(validator.iter_errors(parsed)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.instance_path) or "(root)"
            return {
                "parsed": None,
                "parse_error": f"the answer does not match the schema at {where}: {error.message}",
            }
    return {"parsed": parsed, "parse_error": None}
