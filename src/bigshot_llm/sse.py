"""Server-sent events: an incremental WHATWG decoder and a tiny encoder.

The decoder works on bytes, not text: line terminators (CR, LF) are ASCII and never occur inside
a multi-byte UTF-8 sequence, so splitting lines before decoding makes a chunk boundary inside a
character harmless. Pure and synchronous except `iter_sse`; no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "SSE_PING",
    "SSEDecoder",
    "SSEEventTooLarge",
    "ServerSentEvent",
    "encode_sse",
    "iter_sse",
    "numbered_event",
]

SSE_PING = b": ping\n\n"
DEFAULT_MAX_EVENT_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_CR, _LF = 0x0D, 0x0A


class SSEEventTooLarge(ValueError):
    """A line or an event passed the decoder's cap (the stream is not usable past it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a server-sent event or line is larger than {limit} bytes")
        self.limit = limit


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event. `id` is the stream's last event id, as browsers report it."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed bytes as they arrive; get back the events they complete.

    The work is linear in the bytes fed: the pending line lives in a `bytearray` that grows in
    place, and line ends are searched for only in bytes not scanned before. `max_event_bytes`
    (None: unbounded) caps a line and the data of one event; past it `feed` raises
    `SSEEventTooLarge` at once, without waiting for the line to end, so a peer cannot make the
    decoder hold more than the cap.
    """

    __slots__ = (
        "_buf",
        "_scanned",
        "_skip_lf",
        "_bom_checked",
        "_data",
        "_data_bytes",
        "_event",
        "_last_id",
        "_retry",
        "_max",
    )

    def __init__(self, max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buf = bytearray()  # the unterminated line (no CR or LF in it)
        self._scanned = 0  # how much of `_buf` is known to hold no CR or LF
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._bom_checked = False
        self._data: list[bytes] = []
        self._data_bytes = 0
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode `chunk` and return every event it completes (often none)."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
                if not chunk:
                    return []
        buf = self._buf
        if not buf and self._bom_checked and b"\r" not in chunk:
            return self._feed_lines(chunk)
        buf += chunk
        if not self._bom_checked:
            # The BOM itself may be split across chunks: wait until we can tell.
            if len(buf) < 3 and _BOM.startswith(buf):
                return []
            self._bom_checked = True
            if buf.startswith(_BOM):
                del buf[:3]
        events: list[ServerSentEvent] = []
        start = 0  # where the current line begins
        end = len(buf)
        lf = buf.find(b"\n", self._scanned)
        cr = buf.find(b"\r", self._scanned)
        while lf != -1 or cr != -1:
            if cr == -1 or (lf != -1 and lf < cr):
                stop, after = lf, lf + 1
            elif cr + 1 < end:
                stop, after = cr, cr + 2 if buf[cr + 1] == _LF else cr + 1
            else:  # CR is the last byte: its LF, if any, comes with the next chunk
                stop, after = cr, cr + 1
                self._skip_lf = True
            self._line(buf, start, stop, events)
            start = after
            if lf != -1 and lf < start:
                lf = buf.find(b"\n", start)
            if cr != -1 and cr < start:
                cr = buf.find(b"\r", start)
        if start:
            del buf[:start]
        self._scanned = len(buf)
        if self._max is not None and self._scanned > self._max:
            raise SSEEventTooLarge(self._max)
        return events

    def _feed_lines(self, chunk: bytes) -> list[ServerSentEvent]:
        """The common case (nothing pending, LF line ends): split the chunk as it is."""
        events: list[ServerSentEvent] = []
        lines = chunk.split(b"\n")
        rest = lines.pop()
        limit = self._max
        for line in lines:
            if not line:
                if self._data:
                    events.append(self._dispatch())
                else:
                    self._event = ""
                    self._retry = None
            elif limit is not None and len(line) > limit:
                raise SSEEventTooLarge(limit)
            elif line[0] != 0x3A:  # lines starting with ":" are comments
                self._field(line)
        if rest:
            self._buf += rest
            self._scanned = len(rest)
            if limit is not None and self._scanned > limit:
                raise SSEEventTooLarge(limit)
        return events

    def _line(self, buf: bytearray, start: int, stop: int, events: list[ServerSentEvent]) -> None:
        if stop == start:
            if self._data:
                events.append(self._dispatch())
            else:
                self._event = ""
                self._retry = None
            return
        if self._max is not None and stop - start > self._max:
            raise SSEEventTooLarge(self._max)
        if buf[start] == 0x3A:  # lines starting with ":" are comments
            return
        self._field(bytes(buf[start:stop]))

    def _field(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._data_bytes += len(value) + (len(self._data) > 1)
            if self._max is not None and self._data_bytes > self._max:
                raise SSEEventTooLarge(self._max)
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
        self._data_bytes = 0
        self._event = ""
        self._retry = None
        return event


async def iter_sse(
    byte_iter: AsyncIterable[bytes], *, max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES
) -> AsyncIterator[ServerSentEvent]:
    """Events from an async iterable of byte chunks. An unterminated last event is dropped."""
    decoder = SSEDecoder(max_event_bytes)
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
