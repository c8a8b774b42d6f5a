"""The SSE codec against byte fixtures split at every position (and byte by byte)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bigshot_llm.sse import (
    DEFAULT_MAX_EVENT_BYTES,
    SSE_PING,
    ServerSentEvent,
    SSEDecoder,
    SSEEventTooLarge,
    encode_sse,
    iter_sse,
)

# Every awkward thing at once: BOM, CRLF / CR / LF, comments, multi-line data, a field with no
# colon, no space after the colon, ids that persist, retry, and multi-byte UTF-8 (é, 🦙).
MIXED = (
    b"\xef\xbb\xbf: leading comment\r\n"
    b"event: greeting\r\n"
    b"id: 1\r\n"
    b"data: h\xc3\xa9llo\r\n"
    b"data:  two spaces\r\n"
    b"\r\n"
    b"data: llama \xf0\x9f\xa6\x99\r"
    b"retry: 1500\r"
    b"\r"
    b"data\n"
    b"\n"
    b"id: 7\n"
    b'data:{"a":1}\n'
    b"\n"
    b": ping\n\n"
    b"event: error\n"
    b"data: boom\n\n"
    b"data: [DONE]\n\n"
)
MIXED_EVENTS = [
    ServerSentEvent("greeting", "héllo\n two spaces", "1", None),
    ServerSentEvent("message", "llama 🦙", "1", 1500),
    ServerSentEvent("message", "", "1", None),
    ServerSentEvent("message", '{"a":1}', "7", None),
    ServerSentEvent("error", "boom", "7", None),
    ServerSentEvent("message", "[DONE]", "7", None),
]


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_whole_fixture() -> None:
    assert decode([MIXED]) == MIXED_EVENTS


@pytest.mark.parametrize("cut", range(len(MIXED) + 1))
def test_split_anywhere(cut: int) -> None:
    assert decode([MIXED[:cut], MIXED[cut:]]) == MIXED_EVENTS


def test_byte_by_byte() -> None:
    assert decode([MIXED[i : i + 1] for i in range(len(MIXED))]) == MIXED_EVENTS


def test_every_three_way_split_of_crlf_and_utf8() -> None:
    fixture = b"\xef\xbb\xbfdata: \xe2\x82\xac\r\ndata: x\r\r\nid: 9\r\n\r\n"
    # "x\r\r\n" is a CR line end then an empty CRLF line (dispatch); the id comes too late.
    expected = [ServerSentEvent("message", "€\nx", None, None)]
    for i in range(len(fixture) + 1):
        for j in range(i, len(fixture) + 1):
            assert decode([fixture[:i], fixture[i:j], fixture[j:]]) == expected, (i, j)


def test_bom_only_stripped_at_start() -> None:
    assert decode([b"data: a\n\n\xef\xbb\xbfdata: b\n\n"]) == [
        ServerSentEvent("message", "a"),
        # A BOM later is part of the field name, so the line is an unknown field.
    ]


def test_incomplete_bom_prefix_is_data() -> None:
    assert decode([b"\xef", b"data: x\n\n"]) == []  # "\xefdata" is an unknown field
    assert decode([b"\xef\xbb", b"\xbfdata: x\n\n"]) == [ServerSentEvent("message", "x")]


def test_unterminated_last_event_is_dropped() -> None:
    assert decode([b"data: a\n\ndata: b\n"]) == [ServerSentEvent("message", "a")]


def test_event_without_data_is_not_dispatched_and_type_resets() -> None:
    assert decode([b"event: x\n\ndata: y\n\n"]) == [ServerSentEvent("message", "y")]


def test_id_with_nul_ignored_and_bad_retry_ignored() -> None:
    events = decode([b"id: a\x00b\nretry: 1x\ndata: z\n\n"])
    assert events == [ServerSentEvent("message", "z", None, None)]


def test_invalid_utf8_is_replaced() -> None:
    assert decode([b"data: \xff\n\n"]) == [ServerSentEvent("message", "\ufffd")]


def test_empty_chunks_are_harmless() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("message", "a")]


async def test_iter_sse() -> None:
    async def source() -> AsyncIterator[bytes]:
        for i in range(0, len(MIXED), 5):
            yield MIXED[i : i + 5]

    assert [event async for event in iter_sse(source())] == MIXED_EVENTS


def test_encode_simple_and_multiline() -> None:
    assert encode_sse('{"a":1}') == b'data: {"a":1}\n\n'
    assert encode_sse(b"a\nb\r\nc") == b"data: a\ndata: b\ndata: c\n\n"
    assert encode_sse("x", event="error", id="3", retry=100) == (
        b"event: error\nid: 3\nretry: 100\ndata: x\n\n"
    )
    assert SSE_PING == b": ping\n\n"


@pytest.mark.parametrize(
    "data", ["", "plain", "two\nlines", "crlf\r\nline", "trailing\n", "🦙 é", "[DONE]"]
)
def test_encode_decode_round_trip(data: str) -> None:
    wire = encode_sse(data, event="e", id="i")
    expected = data.replace("\r\n", "\n")
    assert decode([wire]) == [ServerSentEvent("e", expected, "i", None)]


def test_encode_rejects_multiline_fields() -> None:
    with pytest.raises(ValueError):
        encode_sse("x", id="a\nb")
    with pytest.raises(ValueError):
        encode_sse("x", event="a\rb")


# ---- bounds: an upstream's stream is untrusted input ----------------------------------------


def test_a_line_past_the_cap_raises_before_it_ends() -> None:
    decoder = SSEDecoder(max_event_bytes=1024)
    decoder.feed(b"data: " + b"x" * 1000)
    with pytest.raises(SSEEventTooLarge) as info:
        decoder.feed(b"x" * 100)  # still no line end: refused now, not when it ends
    assert info.value.limit == 1024


def test_a_comment_line_is_capped_too() -> None:
    decoder = SSEDecoder(max_event_bytes=64)
    with pytest.raises(SSEEventTooLarge):
        decoder.feed(b": " + b"k" * 100 + b"\n")


def test_an_event_of_many_small_data_lines_is_capped() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    line = b"data: " + b"y" * 90 + b"\n"
    decoder.feed(line * 10)  # 10 lines of 90 bytes (+ 9 joining newlines) is 909: fine
    with pytest.raises(SSEEventTooLarge):
        decoder.feed(line * 2)


def test_an_event_exactly_at_the_cap_is_accepted() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    events = decoder.feed(b"data: " + b"z" * 94 + b"\n\n" + b"data: ok\n\n")
    assert [len(e.data) for e in events] == [94, 2]


def test_the_cap_is_per_event_not_per_stream() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    frame = b"data: " + b"w" * 80 + b"\n\n"
    assert len(decoder.feed(frame * 50)) == 50


async def test_iter_sse_passes_the_cap_on() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"data: " + b"v" * 200 + b"\n\n"

    with pytest.raises(SSEEventTooLarge):
        async for _ in iter_sse(chunks(), max_event_bytes=100):
            pass


def test_the_default_cap_is_one_mebibyte() -> None:
    assert DEFAULT_MAX_EVENT_BYTES == 1 << 20
    decoder = SSEDecoder()
    with pytest.raises(SSEEventTooLarge):
        decoder.feed(b"data: " + b"u" * (1 << 20))


@pytest.mark.timeout(120)
def test_a_32_mib_line_fed_in_small_chunks_costs_linear_work() -> None:
    """Rebuilding the unterminated line for every chunk made this quadratic (tens of GiB
    copied); scanning only the new bytes keeps it to a few passes over 32 MiB."""
    size = 32 << 20
    piece = b"x" * 4096
    decoder = SSEDecoder(max_event_bytes=None)
    cpu = time.process_time()
    assert decoder.feed(b"data: ") == []
    for _ in range(size // len(piece)):
        assert decoder.feed(piece) == []
    events = decoder.feed(b"\n\n")
    spent = time.process_time() - cpu
    assert len(events) == 1 and len(events[0].data) == size
    # Linear work is well under a second of CPU; the old decoder needed many minutes.
    assert spent < 20, f"{spent:.1f}s of CPU for a 32 MiB line"


LF_ONLY = (
    b": comment\n"
    b"event: a\nid: 3\ndata: one\ndata: two\n\n"
    b'data: {"k": "v"}\n\n'
    b"retry: 10\ndata: \xf0\x9f\xa6\x99\n\n"
    b"data\n\n"
)
LF_EVENTS = [
    ServerSentEvent("a", "one\ntwo", "3", None),
    ServerSentEvent("message", '{"k": "v"}', "3", None),
    ServerSentEvent("message", "🦙", "3", 10),
    ServerSentEvent("message", "", "3", None),
]


@pytest.mark.parametrize("cut", range(len(LF_ONLY) + 1))
def test_lf_only_split_anywhere(cut: int) -> None:
    """The fast path (nothing pending, no CR) and the buffered one agree at every split."""
    assert decode([LF_ONLY[:cut], LF_ONLY[cut:]]) == LF_EVENTS


def test_lf_only_byte_by_byte_and_in_threes() -> None:
    assert decode([LF_ONLY[i : i + 1] for i in range(len(LF_ONLY))]) == LF_EVENTS
    assert decode([LF_ONLY[i : i + 3] for i in range(0, len(LF_ONLY), 3)]) == LF_EVENTS


def test_the_fast_path_caps_lines_and_pending_rest() -> None:
    with pytest.raises(SSEEventTooLarge):
        SSEDecoder(max_event_bytes=100).feed(b"data: " + b"q" * 200 + b"\n\n")
    with pytest.raises(SSEEventTooLarge):
        SSEDecoder(max_event_bytes=100).feed(b"data: ok\n\ndata: " + b"q" * 200)
