"""The OpenAI Responses API under ``/v1/responses``: routes, translation, encoder, errors.

(Not to be confused with `api.responses`, the gateway's JSON response helpers.)
"""

from __future__ import annotations

from bigshot_llm.api.responses_api.errors import render_responses_error
from bigshot_llm.api.responses_api.routes import router

__all__ = ["RESPONSES_PREFIX", "render_responses_error", "router"]

RESPONSES_PREFIX = "/v1/responses"
