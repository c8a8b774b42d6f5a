"""A shortcut past FastAPI's router and dependency solver for the hottest LLM calls.

FastAPI's routing and dependency resolution cost more CPU per request than everything the
gateway itself does on a relayed call. Endpoints marked `@hot` take exactly one dependency,
`HotCall` (request, rate-limited caller, resources), a body model and simple query
parameters; `hot_routes` reads that table off the app's routes. This pure ASGI layer
recognises those routes by method and exact path and, when a request is the ordinary
well-formed case (a valid key, JSON that validates, no unusual query), builds the same
`HotCall` and calls the very same endpoint. Whenever anything is unusual (no or bad key,
invalid JSON, a validation error, an unknown query parameter) it hands the request, body
included, to FastAPI untouched, so every error answer comes from the one normal code path.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bigshot_llm.api.deps import HotCall, apply_rate_limit, presented_key
from bigshot_llm.api.errors import render_outside_app, to_gateway_error
from bigshot_llm.api.middleware.base import HTTPMiddleware

Endpoint = Callable[..., Awaitable[Any]]
E = TypeVar("E", bound=Endpoint)
HOT_MARK = "__bigshot_hot__"


def hot(endpoint: E) -> E:
    """Mark an endpoint for the fast path (apply above the router's decorator)."""
    setattr(endpoint, HOT_MARK, True)
    return endpoint


@dataclass(frozen=True, slots=True)
class FastRoute:
    """One shortcut: the endpoint and how to call it."""

    route: APIRoute
    method: str
    path: str  # as the app serves it (the routers' prefixes included)
    call_param: str
    body_param: str | None = None
    body: TypeAdapter[Any] | None = None
    defaults: tuple[tuple[str, Any], ...] = ()  # query parameters and their defaults
    flags: frozenset[str] = frozenset()  # the boolean ones

    @property
    def query(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.defaults)


def _base(hint: Any) -> Any:
    """`Annotated[X, ...]` → X; `X | None` → X."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if len(args) == 1:
        return args[0]
    return hint


def describe(route: APIRoute, path: str | None = None) -> FastRoute:
    """The shortcut for a `@hot` route; `TypeError` when its signature does not fit."""
    endpoint = route.endpoint
    hints = typing.get_type_hints(endpoint, include_extras=True)
    call_param = body_param = None
    body: TypeAdapter[Any] | None = None
    defaults: list[tuple[str, Any]] = []
    flags: set[str] = set()
    for name, parameter in inspect.signature(endpoint).parameters.items():
        base = _base(hints[name])
        if base is HotCall:
            call_param = name
        elif inspect.isclass(base) and issubclass(base, BaseModel):
            body_param, body = name, TypeAdapter(base)
        elif base in (str, bool):
            default = parameter.default
            defaults.append((name, default.default if isinstance(default, FieldInfo) else default))
            if base is bool:
                flags.add(name)
        else:
            raise TypeError(f"hot endpoint {route.path}: parameter {name!r} is not supported")
    methods = route.methods or set()
    path = path or route.path
    if call_param is None or "{" in path or len(methods) != 1:
        raise TypeError(f"hot endpoint {path}: one HotCall, one method, no path params")
    (method,) = methods
    return FastRoute(
        route, method, path, call_param, body_param, body, tuple(defaults), frozenset(flags)
    )


def hot_routes(routes: Sequence[BaseRoute]) -> dict[tuple[str, str], FastRoute]:
    """The shortcuts of every `@hot` route the app serves (included routers too)."""
    table: dict[tuple[str, str], FastRoute] = {}
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and getattr(route.endpoint, HOT_MARK, False):
            fast = describe(route, context.path)
            table[(fast.method, fast.path)] = fast
    return table


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class FastPathMiddleware(HTTPMiddleware):
    def __init__(self, app: ASGIApp, routes: dict[tuple[str, str], FastRoute]) -> None:
        super().__init__(app)
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # `__call__` itself (not `handle`): one coroutine per request less.
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.routes.get((scope["method"], scope["path"]))
        if route is None:
            await self.app(scope, receive, send)
            return
        query = _query(scope, route)
        request = Request(scope, receive)
        resources = request.app.state.resources
        principal = None
        raw_key = presented_key(request)
        if query is not None and raw_key and len(raw_key) <= 200:
            try:
                principal = await resources.auth.resolve(raw_key)
            except Exception as exc:  # noqa: BLE001 - e.g. the database is down: an answer
                response = render_outside_app(scope, to_gateway_error(exc))
                await response(scope, receive, send)
                return
        if principal is not None:
            # `deps.client_address` without building starlette's `Address` tuple
            client = scope.get("client")
            limits, address = resources.rate_limits, client[0] if client else "unknown"
            if limits.refuses(address, principal) is None:
                limits.authenticated(address, principal)
            else:
                principal = None  # a blocked address: the ordinary path answers 429
        if principal is None or query is None:  # 401s, odd queries: the ordinary path
            await self.app(scope, receive, send)
            return
        arguments: dict[str, Any] = dict(route.defaults)
        arguments.update(query)
        if route.body is not None:
            body_bytes = await request.body()
            parsed = _parsed(body_bytes)
            body = None if parsed is None else _validated(route.body, parsed)
            if body is None:
                await self.app(scope, _replay(body_bytes, receive), send)
                return
            request._json = parsed  # what `await request.json()` returns; parsed once
            assert route.body_param is not None
            arguments[route.body_param] = body
        scope["route"] = route.route
        try:
            request.state.principal = principal
            await apply_rate_limit(request, principal, resources)
            arguments[route.call_param] = HotCall(request, principal, resources)
            response = await route.route.endpoint(**arguments)
        except Exception as exc:  # noqa: BLE001 - rendered exactly as the handlers would
            response = render_outside_app(scope, to_gateway_error(exc))
        await response(scope, receive, send)


def _query(scope: Scope, route: FastRoute) -> dict[str, Any] | None:
    """The accepted query parameters, or None when the ordinary path must judge them."""
    raw = scope.get("query_string", b"")
    if not raw:
        return {}
    values: dict[str, Any] = {}
    accepted = route.query
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name not in accepted or name in values:
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
