"""Hostile HTTP upstreams on loopback: servers that send exactly the bytes a test describes.

`HostileServer(handler)` runs asyncio in its own thread (like `FaultProxy`), parses each
request's head and `Content-Length` body, and hands it to ``handler(request, writer)``, which
writes whatever it wants: a well-formed answer, a 300 MiB body, a line that never ends, a
broken chunked framing, nothing at all. The handler returns True to keep the connection
alive for the next request, False (or None) to close it. Every request is recorded in
`requests`, with the index it had on its connection (0 = the connection's first request).

The module also has the building blocks handlers are made of (`head`, `chunk`, `sse_frame`,
`json_response`) and factories for the usual misbehaviours.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from tests.support.servers import free_port

__all__ = [
    "HostileServer",
    "Request",
    "chat_chunk",
    "chunk",
    "head",
    "json_response",
    "reset",
    "sse_frame",
    "sse_response",
]

MAX_HEAD = 1 << 20


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the hostile server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    index_on_connection: int
    connection: int

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool | None]]


def head(status: int = 200, headers: dict[str, str] | None = None, reason: str = "OK") -> bytes:
    """A status line and headers, ending with the blank line."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One chunk of `Transfer-Encoding: chunked` (an empty `data` is the last-chunk marker)."""
    return b"%x\r\n" % len(data) + data + b"\r\n"


def sse_frame(data: bytes | str | dict[str, Any], event: str | None = None) -> bytes:
    payload = orjson.dumps(data) if isinstance(data, dict) else data
    raw = payload.encode() if isinstance(payload, str) else payload
    prefix = f"event: {event}\n".encode() if event else b""
    return prefix + b"data: " + raw + b"\n\n"


def chat_chunk(
    content: str | None = None,
    finish: str | None = None,
    *,
    usage: dict[str, int] | None = None,
    role: bool = False,
) -> dict[str, Any]:
    """An OpenAI chat stream chunk shaped like LM Studio's."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    data: dict[str, Any] = {
        "id": "chatcmpl-hostile",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "hostile-model",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        data["usage"] = usage
    return data


async def json_response(
    writer: asyncio.StreamWriter, payload: Any, status: int = 200, *, keep_alive: bool = True
) -> bool:
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if not keep_alive:
        headers["Connection"] = "close"
    writer.write(head(status, headers) + body)
    await writer.drain()
    return keep_alive


async def sse_response(
    writer: asyncio.StreamWriter, frames: Iterable[bytes], *, delay: float = 0.0
) -> bool:
    """A chunked `text/event-stream` answer, one chunk per frame, then the last chunk."""
    writer.write(head(200, {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}))
    for frame in frames:
        writer.write(chunk(frame))
        await writer.drain()
        if delay:
            await asyncio.sleep(delay)
    writer.write(chunk(b""))
    await writer.drain()
    return True


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0): the peer sees 'connection reset'."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class HostileServer:
    """``with HostileServer(handler) as upstream:`` serves on 127.0.0.1:upstream.port."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = free_port()
        self.requests: list[Request] = []
        self.connections = 0
        self.open_connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def start(self) -> HostileServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.open_connections += 1
        number = self.connections
        try:
            index = 0
            while True:
                request = await _read_request(reader, index, number)
                if request is None:
                    return
                self.requests.append(request)
                keep = await self.handler(request, writer)
                if not keep:
                    return
                index += 1
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except asyncio.CancelledError:
            return  # our own shutdown: the connection just ends
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _read_request(
    reader: asyncio.StreamReader, index: int, connection: int
) -> Request | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed the connection between requests
    if len(raw) > MAX_HEAD:
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, body, index, connection)
