"""The pooled upstream client's pieces that make a request cheap, behaving as httpx does.

`UpstreamClient` keeps no cookies, `RequestTemplate` builds what `build_request` would with the
merging done once, and `body_pieces` reads a body from aiohttp's reader when the transport
(`AiohttpBodyTransport`) hands it over. Each falls back to httpx's own path where it could not
be sure of building or reading the same bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import AiohttpResponseStream

__all__ = ["AiohttpBodyTransport", "RequestTemplate", "UpstreamClient", "body_pieces"]


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing and sends nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class UpstreamClient(httpx.AsyncClient):
    """httpx's client, minus the cookie jar: one client serves every user of a provider, so a
    cookie that one answer set must never ride along on another user's request (and reading
    every answer's headers for cookies was a measurable share of a request's CPU)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("an upstream client keeps no cookies")


# A response extension: aiohttp's reader of the body, when nothing in it needs decoding.
_AIOHTTP_BODY = "bigshot.aiohttp_body"


class AiohttpBodyTransport(AiohttpTransport):
    """httpx_aiohttp's transport; a response whose body needs no decoding also carries
    aiohttp's reader of it, so `body_pieces` can skip httpx's four layers of generators per
    piece (the bytes are the same: httpx would pass an undecoded body through as it is)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        aiohttp_response = getattr(response.stream, "_aiohttp_response", None)
        if (
            isinstance(aiohttp_response, aiohttp.ClientResponse)
            and aiohttp.hdrs.CONTENT_ENCODING not in aiohttp_response.headers
        ):
            response.extensions[_AIOHTTP_BODY] = aiohttp_response.content
        return response


def body_pieces(response: httpx.Response) -> AsyncIterator[bytes]:
    """The pieces of `response`'s body as they arrive (what `aiter_bytes` yields, without its
    overhead where the transport allows). aiohttp's errors come through unwrapped here;
    `map_transport_error` maps them the same way as httpx's wrapping of them."""
    reader = response.extensions.get(_AIOHTTP_BODY)
    if reader is None:
        return response.aiter_bytes()
    # In the transport's own piece size: a piece is what the SSE decoder sees at once (a piece
    # that ends in an oversized line fails as a whole, the events before it in it included).
    iterator: AsyncIterator[bytes] = reader.iter_chunked(AiohttpResponseStream.CHUNK_SIZE)
    return iterator


# Headers whose presence changes what httpx adds to a request by itself.
_AUTO_HEADER_NAMES = frozenset({"host", "content-length", "transfer-encoding"})


class RequestTemplate:
    """`client.build_request(method, url, content=..., headers=headers, timeout=timeout)` for
    one shape of request, with the merging done once.

    `build_request` merges the client's headers, cookies, parameters and base URL into every
    request and then normalises every header again; for an `UpstreamClient` (no cookies, no
    parameters) and an absolute URL the outcome is always the same headers plus the Host and
    Content-Length that httpx would add, in the same order. Anything else (another client, a
    relative URL, an empty body) goes through `build_request` itself.
    """

    __slots__ = ("_client", "_headers", "_timeout", "_extensions", "_fast", "_merged", "_hosts")

    def __init__(
        self,
        client: httpx.AsyncClient,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._client = client
        self._headers = headers
        self._timeout = timeout
        merged = httpx.Headers(client.headers)
        merged.update(headers)
        self._merged = merged.raw
        self._extensions = (client.timeout if timeout is None else timeout).as_dict()
        self._fast = (
            isinstance(client, UpstreamClient)
            and not client.params
            and not _AUTO_HEADER_NAMES.intersection(key.lower() for key in merged)
        )
        self._hosts: dict[bytes, httpx.Headers] = {}  # netloc → headers with its Host first

    def build(
        self, method: str, url: httpx.URL | str, content: bytes | None = None
    ) -> httpx.Request:
        url = url if isinstance(url, httpx.URL) else httpx.URL(url)
        if (
            not self._fast
            or not url.host
            or url.is_relative_url
            # no body: httpx adds `Content-Length: 0` to these, first after Host
            or (not content and method.upper() in ("POST", "PUT", "PATCH"))
        ):
            kwargs: dict[str, Any] = {} if self._timeout is None else {"timeout": self._timeout}
            return self._client.build_request(
                method, url, content=content, headers=self._headers, **kwargs
            )
        netloc = url.netloc
        base = self._hosts.get(netloc)
        if base is None:
            base = self._hosts[netloc] = httpx.Headers([(b"Host", netloc), *self._merged])
        headers = httpx.Headers(base)
        if content:
            headers["Content-Length"] = str(len(content))
        request = httpx.Request(
            method,
            url,
            headers=headers,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": dict(self._extensions)},
        )
        request.read()
        return request
