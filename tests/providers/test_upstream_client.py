"""The pooled upstream client: no cookie jar, and requests built once per shape.

`RequestTemplate` must build exactly what `client.build_request` builds (same headers in the
same order, same body, same timeouts); the cookie tests run over real sockets on both
transports, since each keeps a jar of its own.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.providers.base import ProviderSpec
from bigshot_llm.providers.client import RequestTemplate, UpstreamClient
from bigshot_llm.providers.http import build_client
from bigshot_llm.providers.openai import OpenAIProvider
from tests.support.hostile import HostileServer, Request, head

from .conftest import SpecFactory

pytestmark = pytest.mark.timeout(60)
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
ANSWER = {
    "id": "c",
    "choices": [{"index": 0, "message": {"content": "hey"}, "finish_reason": "stop"}],
}
JSON = {"Content-Type": "application/json"}
SSE = {"Content-Type": "application/json", "Accept": "text/event-stream"}
STREAM_TIMEOUT = httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)


def same_request(built: httpx.Request, expected: httpx.Request) -> None:
    assert built.method == expected.method
    assert built.url == expected.url
    assert built.headers.raw == expected.headers.raw  # names, values and order
    assert built.content == expected.content
    assert built.extensions == expected.extensions
    assert b"".join(built.stream) == b"".join(expected.stream)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "headers", "timeout", "content"),
    [
        ("GET", "/v1/models", None, None, None),
        ("POST", "/v1/chat/completions", JSON, None, orjson.dumps(BODY)),
        ("POST", "/v1/chat/completions", SSE, STREAM_TIMEOUT, orjson.dumps(BODY)),
        ("POST", "/api/v1/models/load", JSON, None, b""),  # falls back: Content-Length: 0
        ("POST", "/api/v1/models/unload", None, None, None),
        ("get", "/v1/models", JSON, None, b"{}"),
    ],
)
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_template_builds_what_build_request_builds(
    make_spec: SpecFactory,
    transport: str,
    method: str,
    path: str,
    headers: dict[str, str] | None,
    timeout: httpx.Timeout | None,
    content: bytes | None,
) -> None:
    spec = make_spec(transport=transport, extra_headers={"X-Extra": "1"})
    async with build_client(spec) as client:
        assert isinstance(client, UpstreamClient)
        template = RequestTemplate(client, headers, timeout)
        url = httpx.URL(f"{spec.base_url}{path}")
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        # The second one comes from the cached Host headers; a str URL is parsed.
        for target in (url, url, str(url)):
            expected = client.build_request(
                method, target, content=content, headers=headers, **kwargs
            )
            same_request(template.build(method, target, content), expected)


async def test_a_template_leaves_other_clients_and_odd_headers_to_build_request() -> None:
    url = httpx.URL("http://lms.test:1234/v1/chat/completions")
    content = orjson.dumps(BODY)
    cases = [
        (httpx.AsyncClient(headers={"X-A": "1"}, cookies={"kept": "by-this-client"}), JSON),
        (UpstreamClient(headers={"Host": "elsewhere.test"}), JSON),
        (UpstreamClient(params={"api-version": "1"}), JSON),
        (UpstreamClient(), {"Transfer-Encoding": "chunked"}),
    ]
    for client, headers in cases:
        async with client:
            built = RequestTemplate(client, headers).build("POST", url, content)
            same_request(built, client.build_request("POST", url, content=content, headers=headers))
    assert built.headers.get("transfer-encoding") == "chunked"


def test_an_upstream_client_cannot_be_given_cookies() -> None:
    client = UpstreamClient()
    assert not client.cookies
    with pytest.raises(TypeError):
        client.cookies = {"a": "1"}  # type: ignore[assignment]


@asynccontextmanager
async def openai_provider(url: str, transport: str, **spec: Any) -> AsyncIterator[OpenAIProvider]:
    """An OpenAI-compatible provider at `url` over `transport`, closed afterwards."""
    provider = OpenAIProvider(
        ProviderSpec(
            id="p",
            name="upstream",
            kind="openai_compatible",
            base_url=url,
            transport=transport,
            **spec,
        )  # fmt: skip
    )
    try:
        yield provider
    finally:
        await provider.aclose()


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_cookies_an_upstream_sets_are_never_sent_back(transport: str) -> None:
    """One client serves every user of a provider: a cookie one answer set must not ride along
    on the next request (both httpx and aiohttp keep a jar of their own by default)."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        body = orjson.dumps({"data": []} if request.method == "GET" else ANSWER)
        headers = {
            **JSON,
            "Content-Length": str(len(body)),
            "Set-Cookie": f"session=user-{request.index_on_connection}; Path=/",
        }
        writer.write(head(200, headers) + body)
        await writer.drain()
        return True

    with HostileServer(handler) as upstream:
        async with openai_provider(upstream.url, transport, keepalive_expiry=30.0) as provider:
            assert [await provider.chat(BODY) for _ in range(3)] == [ANSWER] * 3
            assert await provider.list_models() == []
    assert len(upstream.requests) == 4
    assert [r.headers.get("cookie") for r in upstream.requests] == [None] * 4


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize("encoding", [None, "gzip"])
async def test_bodies_are_read_decoded_as_httpx_reads_them(
    transport: str, encoding: str | None
) -> None:
    """The aiohttp transport hands over its reader only for a body that needs no decoding;
    a compressed one still goes through httpx's decoders."""
    frames = [
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "hey"}}]},
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.json().get("stream"):
            body = b"".join(b"data: " + orjson.dumps(f) + b"\n\n" for f in frames)
            body += b"data: [DONE]\n\n"
            headers = {"Content-Type": "text/event-stream"}
        else:
            body, headers = orjson.dumps(ANSWER), dict(JSON)
        if encoding:
            body = gzip.compress(body)
            headers["Content-Encoding"] = encoding
        headers["Content-Length"] = str(len(body))
        writer.write(head(200, headers) + body)
        await writer.drain()
        return True

    with HostileServer(handler) as upstream:
        async with openai_provider(upstream.url, transport) as provider:
            assert await provider.chat(BODY) == ANSWER
            chunks = [c.data async for c in provider.stream_chat(BODY)]
    assert chunks == frames
