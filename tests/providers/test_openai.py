"""OpenAIProvider against canned upstream answers (respx): JSON calls, listing, streams."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import respx

from bigshot_llm import errors
from bigshot_llm.providers.base import Provider
from bigshot_llm.providers.openai import OpenAIProvider

from .conftest import SpecFactory

BASE = "http://lms.test:1234/v1"


@pytest.fixture
async def provider(make_spec: SpecFactory) -> AsyncIterator[OpenAIProvider]:
    p = OpenAIProvider(make_spec(kind="openai_compatible", retry_attempts=1))
    yield p
    await p.aclose()


def chunk(content: str, finish: str | None = None) -> bytes:
    data = {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]}
    return b"data: " + orjson.dumps(data) + b"\n\n"


def test_is_a_provider(provider: OpenAIProvider) -> None:
    assert isinstance(provider, Provider)


@respx.mock
async def test_chat_complete_embed(provider: OpenAIProvider) -> None:
    answer = {"id": "c", "choices": [{"index": 0, "message": {"content": "hey"}}]}
    chat = respx.post(f"{BASE}/chat/completions").respond(json=answer)
    comp = respx.post(f"{BASE}/completions").respond(json={"id": "t", "choices": [{"text": ""}]})
    emb = respx.post(f"{BASE}/embeddings").respond(json={"data": [{"embedding": [0.1]}]})
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert await provider.chat(body) == answer
    assert orjson.loads(chat.calls.last.request.content) == body
    assert chat.calls.last.request.headers["authorization"].startswith("Bearer ")
    assert (await provider.complete({"prompt": "x"}))["id"] == "t"
    assert (await provider.embed({"input": "x"}))["data"][0]["embedding"] == [0.1]
    assert comp.called and emb.called


@respx.mock
async def test_200_with_error_and_bad_json(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions")
    route.respond(json={"error": "Unexpected endpoint or method. (POST /v1/chat/completions)"})
    with pytest.raises(errors.UpstreamError, match="does not support"):
        await provider.chat({})
    route.respond(content=b"<html>oops")
    with pytest.raises(errors.UpstreamError) as info:
        await provider.chat({})
    assert info.value.code == "bad_upstream_response"
    route.respond(json=[1, 2])
    with pytest.raises(errors.UpstreamError):
        await provider.chat({})


@respx.mock
async def test_list_models(provider: OpenAIProvider) -> None:
    respx.get(f"{BASE}/models").respond(
        json={"data": [{"id": "gpt-x"}, {"id": "text-embedding-3-small"}, {"nope": 1}]}
    )
    models = await provider.list_models(detailed=True)
    assert [(m.id, m.type, m.state) for m in models] == [
        ("gpt-x", "llm", None),
        ("text-embedding-3-small", "embeddings", None),
    ]


@respx.mock
async def test_list_models_total_budget(make_spec: SpecFactory) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        import asyncio

        await asyncio.sleep(1)
        return httpx.Response(200, json={"data": []})

    respx.get(f"{BASE}/models").mock(side_effect=slow)
    provider = OpenAIProvider(make_spec(list_timeout=0.1))
    try:
        with pytest.raises(errors.ProviderTimeout, match="listing models"):
            await provider.list_models()
    finally:
        await provider.aclose()


@respx.mock
async def test_stream_yields_chunks_and_stops_at_done(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions").respond(
        content=chunk("Hel")
        + b": keep-alive\n\n"
        + chunk("lo", "stop")
        + b"data: [DONE]\n\n"
        + chunk("ignored"),  # fmt: skip
        headers={"content-type": "text/event-stream"},
    )
    body = {"model": "m", "messages": [], "stream_options": {"include_usage": True}}
    got = [c async for c in provider.stream_chat(body)]
    assert "".join(c.data["choices"][0]["delta"]["content"] for c in got) == "Hello"
    assert got[0].raw == chunk("Hel")[6:-2]
    sent = orjson.loads(route.calls.last.request.content)
    assert sent == {**body, "stream": True}
    assert body.get("stream") is None  # the caller's dict is not mutated


@respx.mock
async def test_stream_finish_reason_without_done_is_fine(provider: OpenAIProvider) -> None:
    respx.post(f"{BASE}/completions").respond(content=chunk("a") + chunk("b", "length"))
    got = [c async for c in provider.stream_complete({"prompt": "x"})]
    assert len(got) == 2


@respx.mock
@pytest.mark.parametrize(
    ("payload", "exc_type"),
    [
        (chunk("a"), errors.UpstreamError),  # neither finish_reason nor [DONE]
        (chunk("a") + b"data: {not json\n\n", errors.UpstreamError),
        (chunk("a") + b'data: {"error": {"message": "GPU fell over"}}\n\n', errors.UpstreamError),
        (
            chunk("a") + b'event: error\ndata: {"error": {"message": "Input does not fit in '
            b'context length"}, "message": "x"}\n\n',
            errors.ContextLengthExceeded,
        ),
        (chunk("a") + b"event: error\ndata: plain words\n\n", errors.UpstreamError),
    ],
)
async def test_stream_failures(
    payload: bytes, exc_type: type[Exception], provider: OpenAIProvider
) -> None:
    respx.post(f"{BASE}/chat/completions").respond(content=payload)
    got = []
    with pytest.raises(exc_type):
        async for c in provider.stream_chat({}):
            got.append(c)
    assert len(got) == 1  # the good chunk went out before the failure


@respx.mock
async def test_stream_http_error_before_first_chunk(provider: OpenAIProvider) -> None:
    respx.post(f"{BASE}/chat/completions").respond(
        404, json={"error": {"message": "no such model", "code": "model_not_found"}}
    )
    stream = provider.stream_chat({"model": "nope"})
    with pytest.raises(errors.ModelNotFound):
        await anext(stream)


@respx.mock
async def test_stream_retries_before_first_byte(provider: OpenAIProvider) -> None:
    route = respx.post(f"{BASE}/chat/completions").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=chunk("ok", "stop"))]
    )
    assert [c.data async for c in provider.stream_chat({})][0]["choices"][0]["finish_reason"]
    assert route.call_count == 2


@respx.mock
async def test_stream_read_error_mid_stream(provider: OpenAIProvider) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield chunk("a")
        raise httpx.RemoteProtocolError("peer closed connection")

    respx.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, stream=_Stream(body()))
    )
    with pytest.raises(errors.UpstreamError, match="closed the connection"):
        async for _ in provider.stream_chat({}):
            pass


class _Stream(httpx.AsyncByteStream):
    def __init__(self, it: AsyncIterator[bytes]) -> None:
        self._it = it

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._it:
            yield part
