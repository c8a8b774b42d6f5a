"""Bodies must be JSON: a POST/PUT/PATCH with a body of another type gets 415."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from bigshot_llm.api.errors import render_outside_app
from bigshot_llm.api.middleware.base import HTTPMiddleware
from bigshot_llm.errors import UnsupportedMediaType

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class JSONContentTypeMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = b""
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                has_body = value.strip() not in (b"", b"0")
            elif name == b"transfer-encoding":
                has_body = True
        if has_body and not _is_json(content_type):
            shown = content_type.decode("latin-1")[:100] or "none"
            response = render_outside_app(
                scope,
                UnsupportedMediaType(
                    f"request bodies must be application/json (got {shown})",
                    details=[
                        {"loc": ["header", "content-type"], "msg": "must be application/json"}
                    ],
                ),
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
