"""uvicorn's httptools protocol with the bounds a server exposed directly to clients needs.

The Dockerfile and the Kubernetes manifests put no proxy in front of uvicorn, so what nginx
would bound is bounded here, per connection, before any ASGI code runs:

* **Header size**: a request head (request line and headers) over `max_header_bytes` (64 KiB)
  is answered 431 and the connection closed, also while it is still arriving.
* **Header time**: a request head not complete `request_timeout` (30 s) after the connection
  opened, or after the request's first byte on a kept-alive connection, is answered 408 and
  the connection closed (a slowloris client sends one byte every few seconds: the bound is on
  the whole head, not on the gaps). Between requests uvicorn's keep-alive timeout applies.
* **Connections per client address**: beyond `max_connections_per_client` open connections
  from one address (per worker process), a new one is answered 429 and closed at once.

It also answers with fewer writes (`_CoalescingCycle`): uvicorn writes a response's status
line and headers, then its body, with two `transport.write` calls (two syscalls, two TCP
segments). An answer with a `Content-Length` (every JSON answer) has its head held until the
first body message and goes out in one write; a streamed answer (SSE, chunked) still has its
head written at once.

The request *body* is bounded in time by the body middleware (`api/middleware/body_limit.py`),
which knows when the application is waiting for it. `bigshot-llm serve` uses this protocol;
its limits come from the settings, or from `guarded_protocol(limits)` for a server built in
code (tests).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from bigshot_llm.settings import Settings, get_settings

__all__ = ["ConnectionLimits", "GuardedHttpToolsProtocol", "guarded_protocol"]

_REASONS = {
    408: "Request Timeout",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
}


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = 64 << 10
    request_timeout: float = 30.0
    max_connections_per_client: int = 2048  # 0: unbounded

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            request_timeout=settings.request_timeout_seconds,
            max_connections_per_client=settings.max_connections_per_client,
        )


def _reply(status: int, code: str, message: str) -> bytes:
    """A complete answer in the native envelope, closing the connection."""
    body = orjson.dumps({"success": False, "error": {"code": code, "message": message}})
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` plus header size and time bounds and a per-address cap."""

    limits: ClassVar[ConnectionLimits | None] = None  # None: from the settings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bounds = type(self).limits or ConnectionLimits.from_settings(get_settings())
        self._in_head = True  # waiting for (the rest of) a request head
        self._raw_head = 0  # bytes received while in a head (a head still arriving)
        self._head_size = 0  # the parsed head: URL and headers
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._counted: str | None = None

    # ---- connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cap = self._bounds.max_connections_per_client
        host = self.client[0] if self.client else None
        if cap and host is not None:
            per_client = _per_client(self.server_state)
            if per_client[host] >= cap:
                self._refuse(
                    429,
                    "too_many_connections",
                    f"more than {cap} open connections from this address; close some first",
                )
                return
            per_client[host] += 1
            self._counted = host
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._counted is not None:
            per_client = _per_client(self.server_state)
            per_client[self._counted] -= 1
            if per_client[self._counted] <= 0:
                del per_client[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered and closing: the rest is not read
        if self._in_head:
            self._raw_head += len(data)
        super().data_received(data)
        if self._in_head and not self._refused and self._raw_head > self._bounds.max_header_bytes:
            self._too_large()

    # ---- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_size = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._in_head = False
        self._raw_head = 0
        if self._refused:
            return
        if self._head_size > self._bounds.max_header_bytes:
            self._too_large()
            return
        super().on_headers_complete()
        if type(self.cycle) is RequestResponseCycle:  # None after an upgrade
            self.cycle.__class__ = _CoalescingCycle  # its task has not started yet

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._in_head = True  # what comes next is the head of the next request

    # ---- answering ------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self._bounds.request_timeout, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._in_head and not self._refused and not self.transport.is_closing():
            self._refuse(
                408,
                "request_timeout",
                f"the request headers did not arrive within {self._bounds.request_timeout:g}s",
            )

    def _too_large(self) -> None:
        self._refuse(
            431,
            "request_header_fields_too_large",
            f"the request headers are larger than {self._bounds.max_header_bytes} bytes",
        )

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True
        self._cancel_head_timer()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        if not self.transport.is_closing():
            self.transport.write(_reply(status, code, message))
            self.transport.close()


class _CoalescingCycle(RequestResponseCycle):
    """uvicorn's request cycle, writing a `Content-Length` answer's head with its body.

    The head of such an answer is held from `http.response.start` to the first body message
    (or, should the application fail or return in between, until it does: a client then sees
    exactly what uvicorn alone would have sent). Headers are validated by two searches over
    all names and all values; only an invalid one takes uvicorn's own loop (its error)."""

    _held: bytes | None = None

    async def run_asgi(self, app: Any) -> None:
        async def application(scope: Any, receive: Any, send: Any) -> None:
            try:
                await app(scope, receive, send)
            finally:
                self._release_head()

        await super().run_asgi(application)

    def _release_head(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self.disconnected:
            self.transport.write(held)

    async def send(self, message: Any) -> None:
        if self.response_started:
            if self._held is not None:
                await self._send_body(message)
            else:
                await super().send(message)
            return
        if (
            message["type"] != "http.response.start"
            or self.flow.write_paused
            or self.disconnected
            or self.scope["method"] == "HEAD"
            or self.access_log  # uvicorn's access line (the CLI keeps it off)
        ):
            await super().send(message)
            return
        headers = self.default_headers + list(message.get("headers", []))
        if HEADER_RE.search(b"".join(name for name, _ in headers)) or HEADER_VALUE_RE.search(
            b"".join(value for _, value in headers)
        ):
            await super().send(message)  # raises uvicorn's own error
            return
        length: int | None = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length":
                if length is None:
                    length = int(value.decode())
            elif lowered in (b"transfer-encoding", b"connection"):
                length = None  # chunked or closing: uvicorn's own path
                break
        if length is None:
            await super().send(message)
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        self.chunked_encoding = False
        self.expected_content_length = length
        content = [STATUS_LINE[message["status"]]]
        for name, value in headers:
            content.extend((name.lower(), b": ", value, b"\r\n"))
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content.append(b"\r\n")
        self._held = b"".join(content)

    async def _send_body(self, message: Any) -> None:
        """The first body message of an answer whose head is held: both in one write."""
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            self._held = None
            return
        if message["type"] != "http.response.body":
            self._release_head()
            await super().send(message)  # uvicorn's error for an unexpected message
            return
        body = message.get("body", b"")
        if len(body) > self.expected_content_length:
            self._release_head()
            raise RuntimeError("Response content longer than Content-Length")
        held, self._held = self._held, None
        assert held is not None
        self.expected_content_length -= len(body)
        self.transport.write(held + body if body else held)
        if not message.get("more_body", False):
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()


def _per_client(server_state: Any) -> Counter[str]:
    """Open connections per address, kept on uvicorn's per-server state."""
    counts: Counter[str] | None = getattr(server_state, "bigshot_per_client", None)
    if counts is None:
        counts = Counter()
        server_state.bigshot_per_client = counts
    return counts


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with `limits` fixed (for a uvicorn server built in code)."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})
