"""The request headers that steer admission to the GPUs, read the same way on every surface.

`X-Bigshot-Queue-Timeout`: the longest this request may wait for a slot, in seconds (at most
`BIGSHOT_QUEUE_TIMEOUT_SECONDS`); `X-Bigshot-Session`: the conversation it belongs to, so its
turns return to the server that has its prompt cached.
"""

from __future__ import annotations

import math

from starlette.requests import Request

from bigshot_llm.errors import BadRequest

QUEUE_TIMEOUT_HEADER = "x-bigshot-queue-timeout"
SESSION_HEADER = "x-bigshot-session"
MAX_SESSION_LENGTH = 200


def queue_timeout(request: Request) -> float | None:
    raw = request.headers.get(QUEUE_TIMEOUT_HEADER)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise BadRequest(
            "X-Bigshot-Queue-Timeout must be a number of seconds ≥ 0",
            code="invalid_header",
            param="X-Bigshot-Queue-Timeout",
        )
    return value


def session(request: Request) -> str | None:
    raw = request.headers.get(SESSION_HEADER)
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_SESSION_LENGTH:
        raise BadRequest(
            f"X-Bigshot-Session must be at most {MAX_SESSION_LENGTH} characters",
            code="invalid_header",
            param="X-Bigshot-Session",
        )
    return f"session:{raw.strip()}"
