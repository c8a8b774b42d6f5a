"""The gateway's request cycle writes a `Content-Length` answer's head and body at once, and
otherwise sends byte for byte what uvicorn's own cycle sends (`server_protocol.py`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from bigshot_llm.server_protocol import _CoalescingCycle

Messages = list[dict[str, Any]]


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class FakeFlow:
    write_paused = False

    def resume_reading(self) -> None:
        pass


def cycle(kind: type[RequestResponseCycle], *, method: str = "GET", keep_alive: bool = True):
    transport = FakeTransport()
    made = kind(
        scope={"type": "http", "method": method, "path": "/", "http_version": "1.1"},  # type: ignore[arg-type]
        transport=transport,  # type: ignore[arg-type]
        flow=FakeFlow(),  # type: ignore[arg-type]
        logger=logging.getLogger("test.cycle"),
        access_logger=logging.getLogger("test.cycle.access"),
        access_log=False,
        default_headers=[(b"server", b"uvicorn")],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )
    return made, transport


async def run(kind: type[RequestResponseCycle], messages: Messages, **options: Any):
    made, transport = cycle(kind, **options)
    error: str | None = None

    async def app(scope: Any, receive: Any, send: Any) -> None:
        for message in messages:
            await send(dict(message))

    try:
        await app(None, None, made.send)
    except RuntimeError as exc:
        error = str(exc)
    return transport, error, made.response_complete


def start(status: int = 200, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status, "headers": list(headers)}


def body(data: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


JSON = (b"content-type", b"application/json")
CASES: dict[str, tuple[Messages, dict[str, Any]]] = {
    "json": ([start(200, JSON, (b"content-length", b"2")), body(b"{}")], {}),
    "json in two parts": (
        [start(200, (b"Content-Length", b"4")), body(b"ab", True), body(b"cd")],
        {},
    ),
    "empty body": ([start(204, (b"content-length", b"0")), body(b"")], {}),
    "not kept alive": ([start(200, (b"content-length", b"2")), body(b"{}")], {"keep_alive": False}),
    "connection close": (
        [start(200, (b"content-length", b"2"), (b"connection", b"close")), body(b"{}")],
        {},
    ),
    "sse": ([start(200, (b"content-type", b"text/event-stream")), body(b"data: 1\n\n", True)], {}),
    "chunked": (
        [start(200, (b"transfer-encoding", b"chunked")), body(b"x", True), body(b"")],
        {},
    ),
    "head": ([start(200, (b"content-length", b"2")), body(b"")], {"method": "HEAD"}),
    "too long": ([start(200, (b"content-length", b"1")), body(b"{}")], {}),
    "too short": ([start(200, (b"content-length", b"3")), body(b"{}")], {}),
    "bad header name": ([start(200, (b"bad name", b"1")), body(b"")], {}),
    "bad header value": ([start(200, (b"x-a", b"a\nb")), body(b"")], {}),
    "not a body": ([start(200, (b"content-length", b"2")), start(200)], {}),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_the_bytes_on_the_wire_are_uvicorns(case: str) -> None:
    messages, options = CASES[case]
    ours, our_error, our_complete = await run(_CoalescingCycle, messages, **options)
    theirs, their_error, their_complete = await run(RequestResponseCycle, messages, **options)
    assert b"".join(ours.writes) == b"".join(theirs.writes)
    assert (our_error, our_complete, ours.closed) == (their_error, their_complete, theirs.closed)


async def test_a_content_length_answer_is_one_write() -> None:
    transport, error, complete = await run(
        _CoalescingCycle, [start(200, JSON, (b"content-length", b"2")), body(b"{}")]
    )
    assert error is None and complete
    assert len(transport.writes) == 1 and transport.writes[0].endswith(b"\r\n\r\n{}")


async def test_a_streamed_answer_has_its_head_written_at_once() -> None:
    made, transport = cycle(_CoalescingCycle)
    await made.send(start(200, (b"content-type", b"text/event-stream")))
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK")


async def test_a_held_head_is_written_when_the_application_fails_before_the_body() -> None:
    for kind in (_CoalescingCycle, RequestResponseCycle):
        made, transport = cycle(kind)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send(start(200, (b"content-length", b"2")))
            raise ValueError("boom")

        await made.run_asgi(app)
        assert transport.closed
        assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK")
