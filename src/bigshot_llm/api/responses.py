"""Fast JSON responses: the envelope on the native API, plain JSON elsewhere (orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.encoders import jsonable_encoder
from starlette.responses import Response

from bigshot_llm.errors import GatewayError

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_DATACLASS


def _default(value: Any) -> Any:
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


def error_envelope(exc: GatewayError) -> Response:
    """``{"success": false, "error": {"code", "message", "details"}}`` with the error's status."""
    return Response(
        dumps({"success": False, "error": exc.to_dict()}),
        status_code=exc.status_code,
        media_type="application/json",
        headers=exc.headers or None,
    )
