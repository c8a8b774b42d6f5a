"""One access-log line and the HTTP metrics per request; the request id for everything below.

Pure ASGI (streams and disconnects pass through untouched). It sets `request_id_var` (read
by log records and sent upstream as `X-Request-ID`), adds `X-Bigshot-Overhead-Ms` to answers
whose handler measured an upstream call, and after the answer's last byte logs method, route
template, status, duration, request id and user id at INFO: never the query string, a body,
or a header value.
"""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from bigshot_llm.api.middleware.base import HTTPMiddleware
from bigshot_llm.logging_setup import request_id_var

log = logging.getLogger("bigshot_llm.access")

UPSTREAM_MS = "upstream_ms"


def note_upstream_ms(request: Request, upstream_ms: float | None) -> None:
    """Leave a measured upstream call's time for `X-Bigshot-Overhead-Ms` (total − upstream)."""
    if upstream_ms is not None:
        request.scope.setdefault("state", {})[UPSTREAM_MS] = upstream_ms


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    # Unmatched (404s, the UI's static files): one label, so metrics stay bounded.
    return "unmatched"


class AccessLogMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        token = request_id_var.set(state.get("request_id"))
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                upstream_ms = state.get(UPSTREAM_MS)
                if upstream_ms is not None:
                    overhead = max(0.0, (time.perf_counter() - started) * 1000 - upstream_ms)
                    state["overhead_ms"] = overhead
                    headers = list(message.get("headers", []))
                    headers.append((b"x-bigshot-overhead-ms", b"%.2f" % overhead))
                    message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._done(scope, state, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _done(self, scope: Scope, state: dict, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = scope.get("method", "")
        metrics = scope["app"].state.resources.metrics
        if metrics is not None:
            metrics.http_requests.labels(method, route, str(status)).inc()
            metrics.http_duration.labels(method, route).observe(seconds)
            if status == 429:
                metrics.rate_limited.labels(route).inc()
            overhead = state.get("overhead_ms")
            if overhead is not None:
                metrics.overhead.labels(route).observe(overhead / 1000)
        principal = state.get("principal")
        log.info(
            "%s %s %d %.1fms",
            method,
            route if route != "unmatched" else str(scope.get("path", ""))[:200],
            status,
            seconds * 1000,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "request_id": state.get("request_id"),
                "user_id": getattr(principal, "user_id", None),
            },
        )
