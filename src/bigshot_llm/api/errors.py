"""One place that turns every failure into a client answer; never a bare 500 or a trace."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from bigshot_llm.api.responses import error_envelope
from bigshot_llm.db.outage import database_unavailable, is_database_outage
from bigshot_llm.errors import (
    GatewayError,
    NotFound,
    PayloadTooLarge,
    RequestValidationFailed,
    ServiceUnavailable,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

_STATUS_ERRORS: dict[int, type[GatewayError]] = {
    404: NotFound,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors reduced to field path, reason and type (the input is not echoed)."""
    details = []
    for err in errors:
        details.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "field": ".".join(str(part) for part in err.get("loc", ())[1:]) or None,
                "msg": str(err.get("msg", "invalid")),
                "type": err.get("type", "value_error"),
            }
        )
    return details


def to_gateway_error(exc: Exception) -> GatewayError:
    """The gateway error for any exception raised while handling a request."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, RequestValidationError):
        details = validation_details(list(exc.errors()))
        first = details[0] if details else {"field": None, "msg": "invalid"}
        where = first.get("field") or "body"
        return RequestValidationFailed(f"invalid request: {where}: {first['msg']}", details=details)
    if isinstance(exc, StarletteHTTPException):
        cls = _STATUS_ERRORS.get(exc.status_code)
        if exc.status_code == 404:
            return NotFound("no such endpoint")
        if exc.status_code == 405:
            return GatewayError("method not allowed", status_code=405, code="method_not_allowed")
        if cls is not None:
            return cls(str(exc.detail))
        return GatewayError(str(exc.detail), status_code=exc.status_code, code="http_error")
    if isinstance(exc, RedisError):  # the fallbacks catch these; never blame the database
        log.warning("Redis unavailable: %s", type(exc).__name__)
        return ServiceUnavailable(
            "a shared service (Redis) is unavailable; try again shortly",
            code="redis_unavailable",
            headers={"Retry-After": "2"},
        )
    if is_database_outage(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        return database_unavailable()
    log.exception("unhandled error")
    return GatewayError("internal error; the request id is in the X-Request-ID header")


ErrorRenderer = Callable[[GatewayError], Response]


def install_error_handlers(app: FastAPI, renderers: dict[str, ErrorRenderer] | None = None) -> None:
    """Render errors by path prefix (e.g. OpenAI's shape under ``/v1/``), else the envelope."""
    by_prefix = sorted((renderers or {}).items(), key=lambda item: -len(item[0]))

    def render_for_path(path: str, error: GatewayError) -> Response:
        for prefix, render in by_prefix:
            if path.startswith(prefix):
                return render(error)
        return error_envelope(error)

    async def handle(request: Request, exc: Exception) -> Response:
        return render_for_path(request.scope.get("path", ""), to_gateway_error(exc))

    app.state.render_error = render_for_path

    app.add_exception_handler(GatewayError, handle)
    app.add_exception_handler(RequestValidationError, handle)
    app.add_exception_handler(StarletteHTTPException, handle)
    # Registered by class so they are answered as handled errors: Starlette re-raises what
    # reaches the catch-all `Exception` handler and uvicorn then drops the connection.
    for outage in (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError, RedisError):
        app.add_exception_handler(outage, handle)
    app.add_exception_handler(Exception, handle)


def render_outside_app(scope: Any, error: GatewayError) -> Response:
    """For pure ASGI middleware, which runs before the exception handlers."""
    app = scope.get("app")
    render = getattr(getattr(app, "state", None), "render_error", None)
    if render is None:
        return error_envelope(error)
    return render(scope.get("path", ""), error)  # type: ignore[no-any-return]
