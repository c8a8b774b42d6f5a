"""Bodies must be JSON: a POST/PUT/PATCH with a body of another type gets 415.

The app checks it in the body-limit layer (`BodyLimitMiddleware(json_only=True)`, one pass
over the headers for both); `JSONContentTypeMiddleware` is the check as a layer of its own.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bigshot_llm.api.errors import render_outside_app
from bigshot_llm.api.middleware.base import HTTPMiddleware
from bigshot_llm.errors import UnsupportedMediaType

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def refuse_non_json(scope: Scope, content_type: bytes | None, has_body: bool) -> Response | None:
    """The 415 answer for a body that is not JSON (None: acceptable, or not a body method).
    `content_type` is the header's value (None: absent)."""
    if not has_body or scope["method"] not in _BODY_METHODS:
        return None
    content_type = content_type or b""
    if _is_json(content_type):
        return None
    shown = content_type.decode("latin-1")[:100] or "none"
    return render_outside_app(
        scope,
        UnsupportedMediaType(
            f"request bodies must be application/json (got {shown})",
            details=[{"loc": ["header", "content-type"], "msg": "must be application/json"}],
        ),
    )


def body_headers(scope: Scope) -> tuple[bytes | None, bool]:
    """The request's content type (None: absent) and whether it announces a body."""
    content_type = None
    has_body = False
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            has_body = value.strip() not in (b"", b"0")
        elif name == b"transfer-encoding":
            has_body = True
    return content_type, has_body


class JSONContentTypeMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = None
        if scope["method"] in _BODY_METHODS:
            response = refuse_non_json(scope, *body_headers(scope))
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
