"""The outermost middleware: request id, security headers, overhead header and access log.

Three concerns that only look at the request's headers and add headers to the answer, in one
pure ASGI layer (one coroutine and one `send` wrapper per request instead of three: a
streamed answer's every chunk passes through each wrapper). It:

* accepts or generates the request id (`state["request_id"]`, `request_id_var` for log records
  and the upstream `X-Request-ID`) and returns it as `X-Request-ID`;
* adds the security headers and the caller's X-RateLimit-* figures (`security_headers`);
* adds `X-Bigshot-Overhead-Ms` to answers whose handler measured an upstream call;
* after the answer's last byte, records the metrics and the access-log line (`access_log`).

Streams and disconnects pass through untouched.
"""

from __future__ import annotations

import time

from starlette.types import Message, Receive, Scope, Send

from bigshot_llm.api.middleware.access_log import UPSTREAM_MS, record_access
from bigshot_llm.api.middleware.base import HTTPMiddleware
from bigshot_llm.api.middleware.request_id import request_id_of
from bigshot_llm.api.middleware.security_headers import add_rate_limit_headers, security_headers
from bigshot_llm.logging_setup import request_id_var


class EdgeMiddleware(HTTPMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # `__call__` itself (not `handle`): one coroutine per request less.
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = shown_id = request_id.decode()
        token = request_id_var.set(shown_id)
        extra = security_headers(scope["path"])
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), *extra]
                add_rate_limit_headers(headers, scope)
                upstream_ms = state.get(UPSTREAM_MS)
                if upstream_ms is not None:
                    overhead = max(0.0, (time.perf_counter() - started) * 1000 - upstream_ms)
                    state["overhead_ms"] = overhead
                    headers.append((b"x-bigshot-overhead-ms", b"%.2f" % overhead))
                headers.append((b"x-request-id", request_id))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            record_access(scope, state, status, time.perf_counter() - started)
            request_id_var.reset(token)
