"""One access-log line and the HTTP metrics per request (written by `edge.EdgeMiddleware`).

After the answer's last byte: method, route template, status, duration, request id and user
id at INFO; never the query string, a body, or a header value. The message is formatted here,
once, and the record carries no arguments (nothing re-renders it on the way to the writer).
The record is made and handed to the handlers directly: `log.info` would first walk the stack
to find its caller, which is always `record_access`.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import Scope

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


def record_access(scope: Scope, state: dict, status: int, seconds: float) -> None:
    """The request's metrics and its access-log line."""
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
    if not log.isEnabledFor(logging.INFO):
        return
    principal = state.get("principal")
    shown = route if route != "unmatched" else str(scope.get("path", ""))[:200]
    duration_ms = seconds * 1000
    record = log.makeRecord(
        log.name,
        logging.INFO,
        __file__,
        _LINE,
        f"{method} {shown} {status} {duration_ms:.1f}ms",  # no args: never %-formatted
        (),
        None,
        "record_access",
        {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "request_id": state.get("request_id"),
            "user_id": getattr(principal, "user_id", None),
        },
    )
    log.handle(record)


_LINE = record_access.__code__.co_firstlineno  # where the record says it was made
