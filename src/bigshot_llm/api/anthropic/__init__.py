"""The Anthropic-compatible API: `/v1/messages` routes, translation, encoder and error shape.

``Anthropic(base_url="http://<gateway>", api_key=<bigshot key>)`` works unchanged.
"""

from __future__ import annotations

from bigshot_llm.api.anthropic.errors import render_anthropic_error
from bigshot_llm.api.anthropic.routes import router

__all__ = ["ANTHROPIC_PREFIX", "render_anthropic_error", "router"]

ANTHROPIC_PREFIX = "/v1/messages"
