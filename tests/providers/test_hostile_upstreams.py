"""Providers against hostile upstreams over real sockets (tests/support/hostile.py).

Every byte an upstream sends is untrusted: each case here sends exactly one misbehaviour and
checks that the provider ends with a mapped `GatewayError`, promptly, having closed the
upstream connection where the answer was cut short.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest

from bigshot_llm import errors
from bigshot_llm.providers.base import ProviderLimits, ProviderSpec, StreamChunk
from bigshot_llm.providers.lmstudio import LMStudioProvider
from bigshot_llm.providers.openai import OpenAIProvider
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

pytestmark = pytest.mark.timeout(60)
TRANSPORTS = ["aiohttp", "httpx"]
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
ANSWER = {
    "id": "c",
    "choices": [{"index": 0, "message": {"content": "hey"}, "finish_reason": "stop"}],
}
SSE_HEAD = head(200, {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"})


def spec_for(url: str, transport: str = "aiohttp", **overrides: Any) -> ProviderSpec:
    values: dict[str, Any] = {
        "id": "h",
        "name": "hostile",
        "kind": "openai_compatible",
        "base_url": url,
        "transport": transport,
        "retry_attempts": 0,
    }
    values.update(overrides)
    return ProviderSpec(**values)


async def collect(chunks: AsyncIterator[StreamChunk], within: float = 20) -> list[StreamChunk]:
    """Every chunk, or the provider's error; a stream that outlives `within` fails the test."""
    out: list[StreamChunk] = []
    async with asyncio.timeout(within):
        async for item in chunks:
            out.append(item)
    return out


async def with_provider(
    spec: ProviderSpec, call: Callable[[OpenAIProvider], Awaitable[Any]], cls: type = OpenAIProvider
) -> Any:
    provider = cls(spec)
    try:
        return await call(provider)
    finally:
        await provider.aclose()


def good_frames(n: int = 2) -> list[bytes]:
    frames = [sse_frame(chat_chunk("", role=True))]
    frames += [sse_frame(chat_chunk(f"t{i} ")) for i in range(n)]
    return frames


# ---- sizes -------------------------------------------------------------------------------------


class Sender:
    """Counts what a handler managed to send before the gateway hung up."""

    def __init__(self) -> None:
        self.sent = 0
        self.finished = False

    async def write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.sent += len(data)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_stream_line_that_never_ends_is_cut_at_the_cap(transport: str) -> None:
    sender = Sender()
    total = 32 << 20
    piece = b"x" * 65536

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        await sender.write(writer, SSE_HEAD + chunk(sse_frame(chat_chunk("", role=True))))
        await sender.write(writer, chunk(b"data: "))
        for _ in range(total // len(piece)):
            await sender.write(writer, chunk(piece))
        sender.finished = True
        return False

    with HostileServer(handler) as upstream:
        spec = spec_for(upstream.url, transport, limits=ProviderLimits(max_sse_event_bytes=1 << 20))
        started = time.monotonic()
        with pytest.raises(errors.UpstreamError) as info:
            await with_provider(spec, lambda p: collect(p.stream_chat(BODY)))
        assert info.value.code == "bad_upstream_response"
        assert "larger than 1048576 bytes" in info.value.message
        assert time.monotonic() - started < 15
        # The gateway hung up near the cap, not after reading the whole 32 MiB line.
        await asyncio.sleep(0.2)
        assert not sender.finished
        assert sender.sent < 8 << 20, sender.sent


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_huge_answer_is_refused_at_the_cap(transport: str) -> None:
    sender = Sender()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        total = 300 << 20
        await sender.write(
            writer,
            head(200, {"Content-Type": "application/json", "Content-Length": str(total)})
            + b'{"choices": "',
        )
        piece = b"a" * (1 << 20)
        for _ in range(300):
            await sender.write(writer, piece)
        sender.finished = True
        return False

    with HostileServer(handler) as upstream:
        limits = ProviderLimits(max_body_bytes=4 << 20)
        with pytest.raises(errors.UpstreamError) as info:
            await with_provider(
                spec_for(upstream.url, transport, limits=limits), lambda p: p.chat(BODY)
            )
        assert info.value.code == "bad_upstream_response"
        assert "larger than the gateway accepts" in info.value.message
        await asyncio.sleep(0.2)
        assert not sender.finished
        assert sender.sent < 64 << 20, sender.sent


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_body_without_length_is_read_only_up_to_the_cap(transport: str) -> None:
    sender = Sender()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        await sender.write(
            writer,
            head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}),
        )
        for _ in range(200):
            await sender.write(writer, chunk(b" " * (1 << 20)))
        sender.finished = True
        return False

    with HostileServer(handler) as upstream:
        limits = ProviderLimits(max_body_bytes=2 << 20)
        with pytest.raises(errors.UpstreamError, match="larger than the gateway accepts"):
            await with_provider(
                spec_for(upstream.url, transport, limits=limits), lambda p: p.embed({})
            )
        await asyncio.sleep(0.2)
        assert not sender.finished


async def test_an_error_body_is_capped_at_64_kib_by_default() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        body = b"e" * (1 << 20)
        writer.write(head(500, {"Content-Length": str(len(body))}, reason="Oops") + body)
        await writer.drain()
        return False

    with HostileServer(handler) as upstream:
        with pytest.raises(errors.UpstreamError) as info:
            await with_provider(spec_for(upstream.url), lambda p: p.chat(BODY))
        assert info.value.status_code == 502
        assert "HTTP 500 body larger than the gateway accepts (65536 bytes" in info.value.message


async def test_a_model_list_is_capped() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        models = {"data": [{"id": f"model-{i:06d}" + "x" * 100} for i in range(20000)]}
        return await json_response(writer, models)

    with HostileServer(handler) as upstream:
        limits = ProviderLimits(max_list_body_bytes=1 << 20)
        with pytest.raises(errors.UpstreamError, match="larger than the gateway accepts"):
            await with_provider(spec_for(upstream.url, limits=limits), lambda p: p.list_models())
        # The default of 8 MiB takes a list of this size (2.4 MB).
        models = await with_provider(spec_for(upstream.url), lambda p: p.list_models())
        assert len(models) == 20000


# ---- shapes ------------------------------------------------------------------------------------

BAD_CHUNKS = [
    pytest.param({"choices": "oops"}, id="choices-a-string"),
    pytest.param({"choices": ["x"]}, id="choice-a-string"),
    pytest.param({"choices": [{"delta": "text"}]}, id="delta-a-string"),
    pytest.param({"choices": [{"delta": {"content": 5}}]}, id="content-a-number"),
    pytest.param({"choices": [{"delta": {}, "finish_reason": 1}]}, id="finish-a-number"),
    pytest.param({"choices": [{"text": ["a"]}]}, id="text-a-list"),
    pytest.param({"choices": [], "usage": "lots"}, id="usage-a-string"),
    pytest.param({"choices": [], "usage": {"completion_tokens": "9"}}, id="tokens-a-string"),
]


@pytest.mark.parametrize("bad", BAD_CHUNKS)
async def test_a_stream_chunk_of_the_wrong_shape_is_a_bad_upstream_response(
    bad: dict[str, Any],
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await sse_response(writer, [*good_frames(), sse_frame(bad), b"data: [DONE]\n\n"])

    with HostileServer(handler) as upstream:
        seen: list[StreamChunk] = []

        async def run(p: OpenAIProvider) -> None:
            async for item in p.stream_chat(BODY):
                seen.append(item)

        with pytest.raises(errors.UpstreamError) as info:
            await with_provider(spec_for(upstream.url), run)
        assert info.value.code == "bad_upstream_response"
        assert "hostile sent a stream chunk" in info.value.message
        assert [c.data["choices"][0]["delta"].get("content") for c in seen] == ["", "t0 ", "t1 "]


BAD_ANSWERS = [
    pytest.param({"id": "x"}, id="no-choices"),
    pytest.param({"choices": []}, id="empty-choices"),
    pytest.param({"choices": "x"}, id="choices-a-string"),
    pytest.param({"choices": [None]}, id="choice-null"),
    pytest.param({"choices": [{"message": "hi"}]}, id="message-a-string"),
    pytest.param({"choices": [{"message": {}}], "usage": []}, id="usage-a-list"),
]


@pytest.mark.parametrize("bad", BAD_ANSWERS)
async def test_an_answer_without_usable_choices_is_a_bad_upstream_response(
    bad: dict[str, Any],
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await json_response(writer, bad)

    with HostileServer(handler) as upstream:
        for call in (lambda p: p.chat(BODY), lambda p: p.complete({"prompt": "x"})):
            with pytest.raises(errors.UpstreamError) as info:
                await with_provider(spec_for(upstream.url), call)
            assert info.value.code == "bad_upstream_response"


@pytest.mark.parametrize(
    "bad", [{"data": "x"}, {"object": "list"}, {"data": [1, 2]}, {"data": [{"index": "0"}]}]
)
async def test_an_embeddings_answer_without_a_data_list_is_refused(bad: dict[str, Any]) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await json_response(writer, bad)

    with HostileServer(handler) as upstream:
        with pytest.raises(errors.UpstreamError) as info:
            await with_provider(spec_for(upstream.url), lambda p: p.embed({"input": "x"}))
        assert info.value.code == "bad_upstream_response"


# ---- broken framing ----------------------------------------------------------------------------

BROKEN_FRAMING = [
    pytest.param(b"100\r\ndata: abc", True, id="chunk-shorter-than-its-size"),
    pytest.param(b"zz\r\nhello\r\n", True, id="chunk-size-not-hex"),
    pytest.param(b"5\r\nhelloXX", True, id="chunk-without-crlf"),
    pytest.param(b"zz\r\nhello\r\n", False, id="chunk-size-not-hex-kept-open"),
    pytest.param(b"", True, id="eof-without-last-chunk"),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("garbage", "close"), BROKEN_FRAMING)
async def test_broken_chunked_framing_is_a_transport_error(
    transport: str, garbage: bytes, close: bool
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(SSE_HEAD + b"".join(chunk(f) for f in good_frames()))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(garbage)
        await writer.drain()
        if not close:
            await asyncio.sleep(30)  # the gateway must hang up by itself
        return False

    with HostileServer(handler) as upstream:
        with pytest.raises(errors.UpstreamError) as info:
            await with_provider(
                spec_for(upstream.url, transport), lambda p: collect(p.stream_chat(BODY))
            )
        assert info.value.code == "bad_upstream_response"
        assert "closed the connection unexpectedly" in info.value.message


# ---- idle time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_keepalive_comments_do_not_keep_a_dead_stream_open(transport: str) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(SSE_HEAD + chunk(sse_frame(chat_chunk("", role=True))))
        while True:
            writer.write(chunk(b": keepalive\n\n"))
            await writer.drain()
            await asyncio.sleep(0.05)

    with HostileServer(handler) as upstream:
        spec = spec_for(upstream.url, transport, stream_idle_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(errors.ProviderTimeout, match="sent no data for 0.5s"):
            await with_provider(spec, lambda p: collect(p.stream_chat(BODY)))
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_line_trickled_byte_by_byte_does_not_keep_a_stream_open(transport: str) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(SSE_HEAD + chunk(sse_frame(chat_chunk("", role=True))))
        for byte in b'data: {"choices": [' + b" " * 100_000:
            writer.write(chunk(bytes([byte])))
            await writer.drain()
            await asyncio.sleep(0.05)
        return False

    with HostileServer(handler) as upstream:
        spec = spec_for(upstream.url, transport, stream_idle_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(errors.ProviderTimeout):
            await with_provider(spec, lambda p: collect(p.stream_chat(BODY)))
        assert time.monotonic() - started < 10


async def test_data_events_slower_than_bytes_but_within_the_idle_time_are_fine() -> None:
    """The idle time restarts at each data event: a slow but live stream is not cut."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        frames = [*good_frames(4), sse_frame(chat_chunk(None, "stop")), b"data: [DONE]\n\n"]
        writer.write(SSE_HEAD)
        for frame in frames:
            for i in range(0, len(frame), 8):  # each event split over several pieces
                writer.write(chunk(frame[i : i + 8]))
                await writer.drain()
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
        writer.write(chunk(b""))
        await writer.drain()
        return False

    with HostileServer(handler) as upstream:
        # Events ~0.45 s apart, the idle time 4× that (a busy machine's late timers stay far
        # inside it), the whole stream longer than it: only a per-event idle clock passes.
        spec = spec_for(upstream.url, stream_idle_timeout=2.0)
        started = time.monotonic()
        chunks = await with_provider(spec, lambda p: collect(p.stream_chat(BODY)))
        assert time.monotonic() - started > 2.0
    texts = [c.data["choices"][0]["delta"].get("content") for c in chunks]
    assert texts == ["", "t0 ", "t1 ", "t2 ", "t3 ", None]


# ---- stale pooled connections ------------------------------------------------------------------


def drops_reused_connections(answer: Callable[[asyncio.StreamWriter], Awaitable[bool]]) -> Any:
    """Answers the first request of each connection, keeps it alive, and closes it without a
    word when a second request arrives on it (a server that forgot an idle connection)."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.index_on_connection > 0:
            return False
        return await answer(writer)

    return handler


async def answer_json(writer: asyncio.StreamWriter) -> bool:
    return await json_response(writer, ANSWER)


async def answer_stream(writer: asyncio.StreamWriter) -> bool:
    frames = [*good_frames(), sse_frame(chat_chunk(None, "stop")), b"data: [DONE]\n\n"]
    return await sse_response(writer, frames)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_dead_pooled_connection_is_replaced_without_an_error(transport: str) -> None:
    with HostileServer(drops_reused_connections(answer_json)) as upstream:
        spec = spec_for(upstream.url, transport, keepalive_expiry=30.0)

        async def three_calls(p: OpenAIProvider) -> list[Any]:
            return [await p.chat(BODY) for _ in range(3)]

        answers = await with_provider(spec, three_calls)
    assert answers == [ANSWER] * 3
    # Each later call met the dead connection first, then got a fresh one.
    assert [(r.connection, r.index_on_connection) for r in upstream.requests] == [
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
        (3, 0),
    ]


async def test_a_stream_on_a_dead_pooled_connection_is_sent_again() -> None:
    with HostileServer(drops_reused_connections(answer_stream)) as upstream:
        spec = spec_for(upstream.url, keepalive_expiry=30.0)

        async def two_streams(p: OpenAIProvider) -> list[int]:
            return [len(await collect(p.stream_chat(BODY))) for _ in range(2)]

        assert await with_provider(spec, two_streams) == [4, 4]
    assert upstream.connections == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_fresh_connection_dropped_before_the_answer_is_not_sent_twice(
    transport: str,
) -> None:
    """Only a reused connection is retried: on a fresh one the upstream may have started."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return False

    with HostileServer(handler) as upstream:
        with pytest.raises(errors.UpstreamError) as info:
            await with_provider(spec_for(upstream.url, transport), lambda p: p.chat(BODY))
        assert info.value.status_code == 502
    assert len(upstream.requests) == 1


# ---- connection slots --------------------------------------------------------------------------


async def test_beyond_max_connections_requests_wait_then_fail_with_a_clear_error() -> None:
    release = threading.Event()  # set by the test, polled by the server's own loop

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(SSE_HEAD + chunk(sse_frame(chat_chunk("", role=True))))
        await writer.drain()
        while not release.is_set():
            writer.write(chunk(sse_frame(chat_chunk("."))))
            await writer.drain()
            await asyncio.sleep(0.05)
        return await answer_done(writer)

    async def answer_done(writer: asyncio.StreamWriter) -> bool:
        writer.write(chunk(sse_frame(chat_chunk(None, "stop"))) + chunk(b"data: [DONE]\n\n"))
        writer.write(chunk(b""))
        await writer.drain()
        return False

    with HostileServer(handler) as upstream:
        spec = spec_for(upstream.url, max_connections=2, limits=ProviderLimits(pool_timeout=0.5))
        provider = OpenAIProvider(spec)
        try:
            running = [asyncio.ensure_future(collect(provider.stream_chat(BODY))) for _ in range(2)]
            await asyncio.sleep(0.3)
            with pytest.raises(errors.ProviderBusy) as info:
                await collect(provider.stream_chat(BODY))
            assert info.value.status_code == 503
            assert "all 2 connections to hostile are in use" in info.value.message
            assert "timed out connecting" not in info.value.message
            # A waiting request gets the next free connection.
            waiting = asyncio.ensure_future(collect(provider.stream_chat(BODY)))
            await asyncio.sleep(0.1)
            release.set()
            for task in [*running, waiting]:
                assert (await task)[-1].data["choices"][0]["finish_reason"] == "stop"
        finally:
            await provider.aclose()
    assert upstream.connections <= 3


# ---- LM Studio's context overflow inside a 200 ------------------------------------------------


def lmstudio(url: str) -> ProviderSpec:
    return spec_for(url, kind="lmstudio")


OVERFLOW = "Input does not fit in context length. The input has 31430 tokens, but the context length only supports 30000 tokens."  # noqa: E501


async def test_a_200_with_an_error_body_is_a_context_overflow() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await json_response(writer, {"error": {"message": OVERFLOW}, "message": OVERFLOW})

    with HostileServer(handler) as upstream:
        with pytest.raises(errors.ContextLengthExceeded):
            await with_provider(lmstudio(upstream.url), lambda p: p.chat(BODY), LMStudioProvider)


async def test_a_non_streaming_request_answered_with_an_error_event_stream() -> None:
    """LM Studio 0.4.21 (bug tracker #2322): HTTP 200, text/event-stream, `event: error`."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        payload = {"error": {"message": OVERFLOW}, "message": OVERFLOW}
        return await sse_response(writer, [sse_frame(payload, event="error")])

    with HostileServer(handler) as upstream:
        with pytest.raises(errors.ContextLengthExceeded) as info:
            await with_provider(lmstudio(upstream.url), lambda p: p.chat(BODY), LMStudioProvider)
    assert "31430 tokens" in info.value.message


async def test_the_mlx_engine_wording_is_a_context_overflow() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        frames = [sse_frame({"error": {"message": "Context size has been exceeded."}}, "error")]
        return await sse_response(writer, frames)

    with HostileServer(handler) as upstream:
        with pytest.raises(errors.ContextLengthExceeded):
            await with_provider(
                lmstudio(upstream.url), lambda p: collect(p.stream_chat(BODY)), LMStudioProvider
            )


def empty_stream(finish: str, usage: dict[str, int] | None) -> list[bytes]:
    frames = [sse_frame(chat_chunk("", role=True)), sse_frame(chat_chunk(None, finish))]
    if usage is not None:
        last = chat_chunk(None, None, usage=usage)
        last["choices"] = []
        frames.append(sse_frame(last))
    return [*frames, b"data: [DONE]\n\n"]


SILENT_OVERFLOW = [
    pytest.param("stop", {"prompt_tokens": 36000, "completion_tokens": 0}, id="usage-zero"),
    pytest.param("length", {"prompt_tokens": 36000, "completion_tokens": 0}, id="length-zero"),
    pytest.param("length", None, id="length-without-usage"),
]
LEGITIMATE_EMPTY = [
    pytest.param("stop", {"prompt_tokens": 12, "completion_tokens": 1}, id="end-token-counted"),
    pytest.param("length", {"prompt_tokens": 12, "completion_tokens": 40}, id="hidden-reasoning"),
    pytest.param("stop", None, id="stop-without-usage"),
]


@pytest.mark.parametrize(("finish", "usage"), SILENT_OVERFLOW)
async def test_a_stream_without_any_output_is_a_context_overflow(
    finish: str, usage: dict[str, int] | None
) -> None:
    """LM Studio's GGUF path (#2339): 200, zero content deltas, a finish_reason."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await sse_response(writer, empty_stream(finish, usage))

    with HostileServer(handler) as upstream:
        seen: list[StreamChunk] = []

        async def run(p: OpenAIProvider) -> None:
            async for item in p.stream_chat(BODY):
                seen.append(item)

        with pytest.raises(errors.ContextLengthExceeded) as info:
            await with_provider(lmstudio(upstream.url), run, LMStudioProvider)
    assert info.value.code == "context_length_exceeded"
    assert seen == []  # the error comes before any chunk: clients get a clean 400


@pytest.mark.parametrize(("finish", "usage"), LEGITIMATE_EMPTY)
async def test_a_legitimate_empty_stream_passes_through(
    finish: str, usage: dict[str, int] | None
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await sse_response(writer, empty_stream(finish, usage))

    with HostileServer(handler) as upstream:
        chunks = await with_provider(
            lmstudio(upstream.url), lambda p: collect(p.stream_chat(BODY)), LMStudioProvider
        )
    assert len(chunks) == (3 if usage else 2)
    assert chunks[1].data["choices"][0]["finish_reason"] == finish


async def test_an_openai_provider_never_judges_an_empty_stream() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await sse_response(writer, empty_stream("length", None))

    with HostileServer(handler) as upstream:
        chunks = await with_provider(spec_for(upstream.url), lambda p: collect(p.stream_chat(BODY)))
    assert len(chunks) == 2


@pytest.mark.parametrize(
    ("finish", "usage", "overflow"),
    [
        ("stop", {"prompt_tokens": 36000, "completion_tokens": 0}, True),
        ("length", None, True),
        ("stop", {"prompt_tokens": 5, "completion_tokens": 1}, False),
        ("stop", None, False),
    ],
)
async def test_a_non_streaming_answer_without_output(
    finish: str, usage: dict[str, int] | None, overflow: bool
) -> None:
    answer: dict[str, Any] = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": finish}
        ]
    }
    if usage:
        answer["usage"] = usage

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await json_response(writer, answer)

    with HostileServer(handler) as upstream:
        call = with_provider(lmstudio(upstream.url), lambda p: p.chat(BODY), LMStudioProvider)
        if overflow:
            with pytest.raises(errors.ContextLengthExceeded):
                await call
        else:
            assert await call == answer


async def test_the_request_reached_the_upstream_as_sent() -> None:
    """The hostile server reads what the provider sends: a sanity check of the harness."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await json_response(writer, ANSWER)

    with HostileServer(handler) as upstream:
        await with_provider(spec_for(upstream.url), lambda p: p.chat(BODY))
    assert upstream.requests[0].path == "/v1/chat/completions"
    assert orjson.loads(upstream.requests[0].body) == BODY
