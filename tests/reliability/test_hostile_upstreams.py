"""The whole gateway (uvicorn on a loopback port) in front of a hostile upstream.

Whatever the upstream sends, both API surfaces answer in their own shape: before a 200, an
HTTP error (502 `bad_upstream_response`, 400 `context_length_exceeded`); after it, a terminal
`error` event (native) or an error chunk followed by `data: [DONE]` (`/v1`).

| upstream sends                                   | outcome                                   |
|--------------------------------------------------|-------------------------------------------|
| a chunk whose `choices` is a string, mid-stream  | terminal error, `bad_upstream_response`   |
| broken chunked framing, mid-stream               | terminal error, `bad_upstream_response`   |
| a line past BIGSHOT_MAX_SSE_EVENT_BYTES          | terminal error, `bad_upstream_response`   |
| a 200 without `choices` (non-streaming)          | 502 on both surfaces                      |
| a 300 MiB answer                                 | 502, the gateway's RSS grows < 100 MiB    |
| a 200 stream without any output (LM Studio)      | 400 `context_length_exceeded`             |
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from bigshot_llm.main import create_app
from tests.conftest import make_settings
from tests.reliability.helpers import (
    ADMIN,
    ADMIN_KEY,
    MODEL,
    NATIVE_CHAT,
    OPENAI_CHAT,
    chat_body,
    parse_stream,
)
from tests.support.hostile import (
    HostileServer,
    Request,
    chat_chunk,
    chunk,
    head,
    json_response,
    sse_frame,
    sse_response,
)
from tests.support.servers import ThreadedServer

pytestmark = pytest.mark.timeout(120)
SURFACES = [pytest.param(NATIVE_CHAT, False, id="native"), pytest.param(OPENAI_CHAT, True, id="v1")]
SSE_HEAD = head(200, {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"})


class Upstream:
    """A hostile server whose chat behaviour a test sets; it lists the model the tests ask
    for (the gateway refuses a model a provider's listing does not name)."""

    def __init__(self) -> None:
        self.chat: Any = None
        self.server = HostileServer(self._handle)

    async def _handle(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.path.endswith("/models"):
            return await json_response(writer, {"data": [{"id": MODEL}]})
        return bool(await self.chat(request, writer))


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    with up.server:
        yield up


@pytest.fixture
def gateway(tmp_path: Path, upstream: Upstream) -> Iterator[ThreadedServer]:
    settings = make_settings(
        tmp_path,
        bootstrap_admin_key=ADMIN_KEY,
        lmstudio_api_base=f"{upstream.server.url}/v1",
        health_check_seconds=0,
        max_sse_event_bytes=64 << 10,
    )
    with ThreadedServer(create_app(settings)) as server:
        yield server


def first_chunks() -> bytes:
    frames = [sse_frame(chat_chunk("", role=True)), sse_frame(chat_chunk("Hello "))]
    return SSE_HEAD + b"".join(chunk(f) for f in frames)


async def bad_shape(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(first_chunks() + chunk(sse_frame({"choices": "oops"})))
    await writer.drain()
    await asyncio.sleep(5)  # nothing more: the gateway must end the stream itself
    return False


# Set by `stream` once the client has the first text: the relay has read the good chunks.
CLIENT_HAS_TEXT = threading.Event()


async def broken_framing(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(first_chunks())
    await writer.drain()
    # The garbage comes when the relay waits for the next piece, not in the same read as the
    # good chunks (a sleep here was not always long enough on a busy machine).
    await asyncio.to_thread(CLIENT_HAS_TEXT.wait, 30)
    writer.write(b"zz\r\nnot a chunk\r\n")
    await writer.drain()
    await asyncio.sleep(5)
    return False


async def endless_line(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(first_chunks() + chunk(b"data: "))
    piece = chunk(b"x" * 16384)
    for _ in range(1024):  # 16 MiB with no line end
        writer.write(piece)
        await writer.drain()
    return False


async def stream(gateway: ThreadedServer, path: str, openai: bool) -> tuple[int, bytes]:
    raw = b""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        body = chat_body("hi", stream=True, openai=openai)
        async with client.stream("POST", path, json=body, headers=ADMIN) as response:
            async for piece in response.aiter_raw():
                raw += piece
                if b"Hello " in raw:
                    CLIENT_HAS_TEXT.set()
    return response.status_code, raw


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        pytest.param(bad_shape, "stream chunk whose `choices` is not a list", id="bad-shape"),
        pytest.param(broken_framing, "closed the connection unexpectedly", id="broken-framing"),
        pytest.param(endless_line, "larger than 65536 bytes", id="endless-line"),
    ],
)
@pytest.mark.parametrize(("path", "openai"), SURFACES)
async def test_a_misbehaving_stream_ends_with_a_terminal_error(
    gateway: ThreadedServer,
    upstream: Upstream,
    path: str,
    openai: bool,
    behaviour: Any,
    message: str,
) -> None:
    upstream.chat = behaviour
    CLIENT_HAS_TEXT.clear()
    started = time.monotonic()
    status, raw = await asyncio.wait_for(stream(gateway, path, openai), timeout=60)
    assert status == 200
    text, ending, error = parse_stream(raw, openai=openai)
    assert text == "Hello "
    assert ending == "error", raw[-400:]
    assert error is not None
    assert error["code"] == "bad_upstream_response"
    assert message in error["message"]
    if openai:
        assert raw.endswith(b"data: [DONE]\n\n")
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(("path", "openai"), SURFACES)
async def test_a_200_without_choices_is_a_502_on_both_surfaces(
    gateway: ThreadedServer, upstream: Upstream, path: str, openai: bool
) -> None:
    async def no_choices(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await json_response(writer, {"id": "chatcmpl-1", "object": "chat.completion"})

    upstream.chat = no_choices
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        response = await client.post(path, json=chat_body("hi", stream=False), headers=ADMIN)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_upstream_response"
    assert "choices" in error["message"]


@pytest.mark.parametrize(("path", "openai"), SURFACES)
async def test_a_stream_without_any_output_is_a_context_overflow(
    gateway: ThreadedServer, upstream: Upstream, path: str, openai: bool
) -> None:
    async def silent(request: Request, writer: asyncio.StreamWriter) -> bool:
        usage = chat_chunk(None, usage={"prompt_tokens": 36000, "completion_tokens": 0})
        usage["choices"] = []
        frames = [
            sse_frame(chat_chunk("", role=True)),
            sse_frame(chat_chunk(None, "stop")),
            sse_frame(usage),
            b"data: [DONE]\n\n",
        ]
        return await sse_response(writer, frames)

    upstream.chat = silent
    status, raw = await stream(gateway, path, openai)
    # The verdict comes before the first byte reached the client: a plain 400.
    assert status == 400, raw
    assert b"context_length_exceeded" in raw


class PeakRss:
    """Samples this process's RSS in a thread; `peak` is the highest value seen."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.mark.timeout(180)
async def test_a_300_mib_answer_is_refused_without_bloating_the_gateway(
    gateway: ThreadedServer, upstream: Upstream
) -> None:
    piece = b" " * (1 << 20)  # one buffer, written again and again: the sender allocates nothing

    async def huge(request: Request, writer: asyncio.StreamWriter) -> bool:
        total = 300 << 20
        writer.write(head(200, {"Content-Type": "application/json", "Content-Length": str(total)}))
        for _ in range(300):
            writer.write(piece)
            await writer.drain()
        return False

    async def chunked_huge(request: Request, writer: asyncio.StreamWriter) -> bool:
        # No Content-Length to refuse up front: the cap has to be found while reading.
        writer.write(
            head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        )
        for _ in range(300):
            writer.write(chunk(piece))
            await writer.drain()
        writer.write(chunk(b""))
        await writer.drain()
        return False

    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        for behaviour in (huge, chunked_huge):
            upstream.chat = behaviour
            before = psutil.Process().memory_info().rss
            with PeakRss() as rss:
                response = await client.post(
                    OPENAI_CHAT, json=chat_body("hi", stream=False), headers=ADMIN
                )
            grown = (rss.peak - before) / (1 << 20)
            assert grown < 100, f"{behaviour.__name__}: RSS grew by {grown:.0f} MiB"
            assert response.status_code == 502, response.text
            error = response.json()["error"]
            assert error["code"] == "bad_upstream_response"
            assert "larger than the gateway accepts (33554432 bytes" in error["message"]
