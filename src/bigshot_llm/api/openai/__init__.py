"""The OpenAI-compatible API under ``/v1``: routes, request models, relay and error shape.

``OpenAI(base_url="http://<gateway>/v1", api_key=<bigshot key>)`` works unchanged.
"""

from __future__ import annotations

from bigshot_llm.api.openai.errors import render_openai_error
from bigshot_llm.api.openai.routes import router

__all__ = ["OPENAI_PREFIX", "render_openai_error", "router"]

OPENAI_PREFIX = "/v1/"
