"""Fast JSON responses: the envelope on the native API, plain JSON elsewhere (orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from starlette.responses import Response

from bigshot_llm.errors import GatewayError

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_DATACLASS


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):  # answers are models: what the OpenAPI schema says
        return value.model_dump()
    return jsonable_encoder(value)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def ok(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``{"success": true, "data": ...}``."""
    return Response(
        dumps({"success": True, "data": data}),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def plain_json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    """JSON without the envelope, as the compatible APIs (`/v1`, Messages) answer."""
    return Response(orjson.dumps(payload), media_type="application/json", headers=headers)


def error_envelope(exc: GatewayError) -> Response:
    """``{"success": false, "error": {"code", "message", "details"}}`` with the error's status."""
    return Response(
        dumps({"success": False, "error": exc.to_dict()}),
        status_code=exc.status_code,
        media_type="application/json",
        headers=exc.headers or None,
    )


def documented_errors(*statuses: int, model: Any = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers, so clients and fuzzers know every status."""
    from bigshot_llm.schemas.base import ErrorEnvelope

    shape = model or ErrorEnvelope
    return {status: {"model": shape, "description": _WHY[status]} for status in statuses}


_WHY = {
    400: "bad request",
    401: "missing or invalid API key",
    403: "the key's role may not do this",
    404: "no such object (or another user's)",
    409: "conflicts with the current state",
    413: "body too large",
    415: "body is not JSON",
    422: "invalid field (details name each one)",
    429: "rate limited (Retry-After says when to retry)",
    499: "the client closed the connection",
    502: "the provider answered something unusable",
    503: "provider unavailable, or none active",
    504: "the provider timed out",
}
NATIVE_ERRORS = documented_errors(*_WHY)


def _openai_errors() -> dict[int | str, dict[str, Any]]:
    from bigshot_llm.schemas.base import OpenAIErrorEnvelope

    return documented_errors(*_WHY, model=OpenAIErrorEnvelope)


OPENAI_ERRORS = _openai_errors()


def _anthropic_errors() -> dict[int | str, dict[str, Any]]:
    from bigshot_llm.schemas.anthropic import AnthropicErrorEnvelope

    statuses = [s for s in _WHY if s != 422]  # Anthropic answers invalid requests with 400
    return documented_errors(*statuses, model=AnthropicErrorEnvelope)


ANTHROPIC_ERRORS = _anthropic_errors()


WARNING_HEADER = "X-Bigshot-Warning"


def warning_headers(warnings: list[str]) -> dict[str, str] | None:
    """`X-Bigshot-Warning` with every warning (header-safe: one line, ASCII)."""
    if not warnings:
        return None
    text = "; ".join(warnings).replace("\r", " ").replace("\n", " ")
    return {WARNING_HEADER: text.encode("ascii", "replace").decode("ascii")}
