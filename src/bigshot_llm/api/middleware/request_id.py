"""Accept or generate an X-Request-ID, expose it to handlers and return it on the answer."""

from __future__ import annotations

import re
import uuid

from starlette.types import Message, Receive, Scope, Send

from bigshot_llm.api.middleware.base import HTTPMiddleware

_VALID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id" and _VALID.match(value):
                request_id = value
                break
        if not request_id:
            request_id = uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
