"""The SSE codec against byte fixtures split at every position (and byte by byte)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bigshot_llm.sse import SSE_PING, ServerSentEvent, SSEDecoder, encode_sse, iter_sse

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
