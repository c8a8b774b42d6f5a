"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Statuses are the native API's; only the body differs, so the `openai` SDK raises its usual
class per status (401 → `AuthenticationError`, 404 → `NotFoundError`, 429 →
`RateLimitError`, …).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from bigshot_llm.errors import GatewayError

__all__ = ["error_body", "render_openai_error"]


def _param(exc: GatewayError) -> str | None:
    """The offending field: set by the raiser, else the first failing field of a 422."""
    if exc.param is not None:
        return exc.param
    details = exc.details
    if isinstance(details, list) and details and isinstance(details[0], dict):
        field = details[0].get("field")
        return field if isinstance(field, str) else None
    return None


def error_body(exc: GatewayError) -> dict[str, Any]:
    return {
        "error": {
            "message": exc.message,
            "type": exc.openai_type,
            "param": _param(exc),
            "code": exc.code,
            **exc.surface_fields(),
        }
    }


def render_openai_error(exc: GatewayError) -> Response:
    """The error renderer for the ``/v1/`` prefix (see `install_error_handlers`)."""
    return Response(
        orjson.dumps(error_body(exc)),
        status_code=exc.status_code,
        media_type="application/json",
        headers=exc.headers or None,
    )
