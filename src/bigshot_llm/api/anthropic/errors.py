"""Errors in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}}``.

Anthropic answers invalid requests with 400 (`invalid_request_error`), so the gateway's 422
becomes 400 here; other statuses are kept and typed the way the `anthropic` SDK expects
(401 → `AuthenticationError`, 404 → `NotFoundError`, 429 → `RateLimitError`, 529/503 →
overloaded, …).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from bigshot_llm.errors import GatewayError

__all__ = ["anthropic_status", "error_body", "render_anthropic_error"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
}


def anthropic_status(exc: GatewayError) -> int:
    return 400 if exc.status_code == 422 else exc.status_code


def error_body(exc: GatewayError) -> dict[str, Any]:
    status = anthropic_status(exc)
    kind = _TYPES.get(status, "invalid_request_error" if 400 <= status < 500 else "api_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": exc.message, **exc.surface_fields()},
    }


def render_anthropic_error(exc: GatewayError) -> Response:
    """The error renderer for ``/v1/messages`` (see `install_error_handlers`)."""
    return Response(
        orjson.dumps(error_body(exc)),
        status_code=anthropic_status(exc),
        media_type="application/json",
        headers=exc.headers or None,
    )
