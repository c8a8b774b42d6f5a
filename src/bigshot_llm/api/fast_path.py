"""A shortcut past FastAPI's router and dependency solver for the hottest LLM calls.

FastAPI's routing and dependency resolution cost more CPU per request than everything the
gateway itself does on a relayed call. This pure ASGI layer recognises the few hot routes by
method and exact path and, when a request is the ordinary well-formed case (a valid key,
JSON that validates, no unusual query), calls the very same endpoint function with the
same arguments FastAPI would pass. Whenever anything is unusual (no or bad key, invalid JSON, a
validation error, an unknown query parameter) it hands the request, body included, to
FastAPI untouched, so every error answer comes from the one normal code path.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bigshot_llm.api.deps import presented_key
from bigshot_llm.api.error_handlers import render_outside_app, to_gateway_error
from bigshot_llm.api.limits import enforce_rate_limit
from bigshot_llm.api.middleware.base import HTTPMiddleware

Endpoint = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class FastRoute:
    """One shortcut: the endpoint, its body model, and the query parameters it accepts."""

    method: str
    path: str  # also the route template reported to usage, logs and metrics
    endpoint: Endpoint
    body: type[BaseModel] | None = None
    query: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()  # boolean query parameters

    def adapter(self) -> TypeAdapter[Any] | None:
        return None if self.body is None else TypeAdapter(self.body)

    def parameters(self) -> frozenset[str]:
        return frozenset(inspect.signature(self.endpoint).parameters)

    def defaults(self) -> dict[str, Any]:
        """Query parameters' defaults, unwrapped from FastAPI's `Query(...)` markers."""
        found: dict[str, Any] = {}
        for name, parameter in inspect.signature(self.endpoint).parameters.items():
            if name not in self.query:
                continue
            default = parameter.default
            found[name] = default.default if isinstance(default, FieldInfo) else default
        return found


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class FastPathMiddleware(HTTPMiddleware):
    def __init__(self, app: ASGIApp, routes: dict[tuple[str, str], FastRoute]) -> None:
        super().__init__(app)
        self.routes = routes
        self.adapters = {key: route.adapter() for key, route in routes.items()}
        self.parameters = {key: route.parameters() for key, route in routes.items()}
        self.defaults = {key: route.defaults() for key, route in routes.items()}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = (scope["method"], scope["path"])
        route = self.routes.get(key)
        if route is None:
            await self.app(scope, receive, send)
            return
        query = _query(scope, route)
        request = Request(scope, receive)
        principal = None
        raw_key = presented_key(request)
        if query is not None and raw_key and len(raw_key) <= 200:
            principal = await request.app.state.bigshot.auth.resolve(raw_key)
        if principal is None or query is None:  # 401s, odd queries: the ordinary path
            await self.app(scope, receive, send)
            return
        body_bytes = b""
        body = None
        adapter = self.adapters[key]
        if adapter is not None:
            body_bytes = await request.body()
            parsed = _parsed(body_bytes)
            body = None if parsed is None else _validated(adapter, parsed)
            if body is None:
                await self.app(scope, _replay(body_bytes, receive), send)
                return
            request._json = parsed  # what `await request.json()` returns; parsed once
        scope["route"] = route
        try:
            request.state.principal = principal
            await enforce_rate_limit(request, principal)
            offered: dict[str, Any] = {
                "request": request,
                "principal": principal,
                "llm": request.app.state.llm,
                "body": body,
                **self.defaults[key],
                **query,
            }
            accepted = self.parameters[key]
            response = await route.endpoint(
                **{name: value for name, value in offered.items() if name in accepted}
            )
        except Exception as exc:  # noqa: BLE001 - rendered exactly as the handlers would
            response = render_outside_app(scope, to_gateway_error(exc))
        await response(scope, receive, send)


def _query(scope: Scope, route: FastRoute) -> dict[str, Any] | None:
    """The accepted query parameters, or None when the ordinary path must judge them."""
    raw = scope.get("query_string", b"")
    if not raw:
        return {}
    values: dict[str, Any] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name not in route.query or name in values:
            return None
        if name in route.flags:
            lowered = value.lower()
            if lowered not in _TRUE and lowered not in _FALSE:
                return None
            values[name] = lowered in _TRUE
        elif not value or len(value) > 100:
            return None
        else:
            values[name] = value
    return values


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _validated(adapter: TypeAdapter[Any], parsed: Any) -> Any:
    try:
        return adapter.validate_python(parsed)
    except (ValidationError, TypeError, ValueError):
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands FastAPI the body this layer already read, then the real one
    (which reports the client's disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def hot_routes() -> dict[tuple[str, str], FastRoute]:
    """The shortcuts: the LLM calls of both surfaces and the model list."""
    from bigshot_llm.api.openai_compat import routes as v1
    from bigshot_llm.api.openai_compat.schemas import (
        OpenAIChatRequest,
        OpenAICompletionRequest,
        OpenAIEmbeddingRequest,
    )
    from bigshot_llm.api.routes import llm as native
    from bigshot_llm.llm_schemas import ChatRequest, CompletionRequest, EmbeddingRequest

    base = "/api/v1/llm-providers"
    provider = frozenset({"provider"})
    routes = [
        FastRoute("POST", "/v1/chat/completions", v1.chat_completions, OpenAIChatRequest),
        FastRoute("POST", "/v1/completions", v1.completions, OpenAICompletionRequest),
        FastRoute("POST", "/v1/embeddings", v1.embeddings, OpenAIEmbeddingRequest),
        FastRoute(
            "POST", f"{base}/chat/completions", native.chat_completions, ChatRequest, provider
        ),
        FastRoute("POST", f"{base}/completions", native.completions, CompletionRequest, provider),
        FastRoute("POST", f"{base}/embeddings", native.embeddings, EmbeddingRequest, provider),
        FastRoute(
            "GET",
            f"{base}/models",
            native.list_models,
            None,
            frozenset({"provider", "detailed", "refresh"}),
            frozenset({"detailed", "refresh"}),
        ),
    ]
    return {(r.method, r.path): r for r in routes}
