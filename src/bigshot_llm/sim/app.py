"""The simulator's Starlette application: routes, counting/auth middleware, 404 quirk."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bigshot_llm.sim import completions, control, downloads, models, native_chat
from bigshot_llm.sim.common import JSON
from bigshot_llm.sim.state import SimState

CONTROL_PREFIX = "/_sim/"


class SimMiddleware:
    """Counts requests (except ``/_sim/*``) and enforces ``require_api_key``."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        state.record_request(scope["path"], headers)
        try:
            key = state.require_api_key
            if key is not None and headers.get("authorization", "") != f"Bearer {key}":
                body = {
                    "error": {
                        "type": "invalid_request",
                        "code": "invalid_api_key",
                        "message": "Invalid or missing API key. Send 'Authorization: Bearer "
                        "<token>'.",
                        "param": None,
                    }
                }
                await JSON(body, status_code=401)(scope, receive, send)
                return
            await self.app(scope, receive, send)
        finally:
            state.incr("active_requests", -1)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """LM Studio answers unknown paths/methods with HTTP 200 and an error body."""
    if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
        return JSON({"error": exc.detail}, status_code=exc.status_code)
    return JSON({"error": f"Unexpected endpoint or method. ({request.method} {request.url.path})"})


def create_sim_app(state: SimState | None = None) -> Starlette:
    """Build the ASGI app serving ``state`` (a fresh default :class:`SimState` if omitted)."""
    state = state if state is not None else SimState()
    routes = [
        Route("/v1/models", models.list_openai_models, methods=["GET"]),
        Route("/api/v0/models", models.list_v0_models, methods=["GET"]),
        Route("/api/v0/models/{model_id:path}", models.get_v0_model, methods=["GET"]),
        Route("/api/v1/models", models.list_v1_models, methods=["GET"]),
        Route("/api/v1/models/load", models.load_model, methods=["POST"]),
        Route("/api/v1/models/unload", models.unload_model, methods=["POST"]),
        Route("/api/v1/models/download", downloads.download_model, methods=["POST"]),
        Route("/api/v1/chat", native_chat.native_chat, methods=["POST"]),
        Route(
            "/api/v1/models/download/status/{job_id}",
            downloads.download_status,
            methods=["GET"],
        ),
        Route("/v1/messages", completions.messages, methods=["POST"]),
        Route("/v1/responses", completions.responses, methods=["POST"]),
        Route("/_sim/state", control.sim_state, methods=["GET"]),
        Route("/_sim/config", control.sim_config, methods=["POST"]),
        Route("/_sim/reset", control.sim_reset, methods=["POST"]),
    ]
    for prefix in ("/v1", "/api/v0"):
        routes += [
            Route(f"{prefix}/chat/completions", completions.chat_completions, methods=["POST"]),
            Route(f"{prefix}/completions", completions.completions, methods=["POST"]),
            Route(f"{prefix}/embeddings", completions.embeddings, methods=["POST"]),
        ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SimMiddleware, state=state)],
        exception_handlers={404: _unexpected, 405: _unexpected},
    )
    app.state.sim = state
    return app
