"""Errors of `/v1/responses`: OpenAI's shape, with OpenAI's 400 for an invalid request.

The rest of `/v1` keeps the gateway's 422 for a failed validation (its clients rely on it);
the Responses API is new, so it answers the way OpenAI does (`BadRequestError` in the SDK).
"""

from __future__ import annotations

import orjson
from starlette.responses import Response

from bigshot_llm.api.openai.errors import error_body
from bigshot_llm.errors import GatewayError

__all__ = ["render_responses_error"]


def render_responses_error(exc: GatewayError) -> Response:
    return Response(
        orjson.dumps(error_body(exc)),
        status_code=400 if exc.status_code == 422 else exc.status_code,
        media_type="application/json",
        headers=exc.headers or None,
    )
