"""Server-sent events: an incremental WHATWG decoder and a tiny encoder.

The decoder works on bytes, not text: line terminators (CR, LF) are ASCII and never occur inside
a multi-byte UTF-8 sequence, so splitting lines before decoding makes a chunk boundary inside a
character harmless. Pure and synchronous except `iter_sse`; no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

__all__ = ["SSE_PING", "SSEDecoder", "ServerSentEvent", "encode_sse", "iter_sse", "numbered_event"]

SSE_PING = b": ping\n\n"
_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event. `id` is the stream's last event id, as browsers report it."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed bytes as they arrive; get back the events they complete."""

    __slots__ = ("_buf", "_skip_lf", "_bom_checked", "_data", "_event", "_last_id", "_retry")

    def __init__(self) -> None:
        self._buf = b""  # an unterminated line; never contains CR or LF
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._bom_checked = False
        self._data: list[bytes] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode `chunk` and return every event it completes (often none)."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        buf = self._buf + chunk if self._buf else chunk
        if not self._bom_checked:
            # The BOM itself may be split across chunks: wait until we can tell.
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf
                return []
            self._bom_checked = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        if b"\r" in buf:
            # A trailing CR ends its line now; remember to drop the LF of a split CRLF.
            self._skip_lf = buf.endswith(b"\r")
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(self._dispatch())
                else:
                    self._event = ""
                    self._retry = None
            elif line[0] != 0x3A:  # lines starting with ":" are comments
                self._field(line)
        return events

    def _field(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value.isdigit():
                self._retry = int(value)

    def _dispatch(self) -> ServerSentEvent:
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        event = ServerSentEvent(
            self._event or "message", data.decode("utf-8", "replace"), self._last_id, self._retry
        )
        self._data = []
        self._event = ""
        self._retry = None
        return event


async def iter_sse(byte_iter: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Events from an async iterable of byte chunks. An unterminated last event is dropped."""
    decoder = SSEDecoder()
    async for chunk in byte_iter:
        for event in decoder.feed(chunk):
            yield event


def _single_line(name: str, value: str) -> str:
    if "\n" in value or "\r" in value or "\x00" in value:
        raise ValueError(f"SSE {name} must be a single line without NUL")
    return value


def encode_sse(
    data: str | bytes,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One event, terminated by a blank line; multi-line data becomes several `data:` lines."""
    payload = data.encode() if isinstance(data, str) else data
    if b"\n" in payload or b"\r" in payload:
        normalised = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        body = b"".join(b"data: " + line + b"\n" for line in normalised.split(b"\n"))
    else:
        body = b"data: " + payload + b"\n"
    if event is None and id is None and retry is None:
        return body + b"\n"
    head = ""
    if event is not None:
        head += f"event: {_single_line('event', event)}\n"
    if id is not None:
        head += f"id: {_single_line('id', id)}\n"
    if retry is not None:
        head += f"retry: {int(retry)}\n"
    return head.encode() + body + b"\n"


def numbered_event(event_id: int, name: bytes, data: bytes) -> bytes:
    """The native streams' frame: ``id``, ``event`` and one line of JSON ``data``."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, name, data)
