"""Images in chat messages, made acceptable to LM Studio: every image as a base64 data URL.

LM Studio refuses remote image URLs ("'url' field must be a base64 encoded image."), so the
gateway fetches `http(s)` URLs itself and inlines them. A fetch is an outbound request a
client chose, so it goes through the SSRF rules of `access.url_guard` (metadata and
link-local addresses never; private and loopback ones only when
`BIGSHOT_IMAGE_FETCH_ALLOWED_HOSTS` names them, for admins too) and connects to the address
that was checked, so a second DNS answer cannot point it elsewhere. Redirects are followed
(at most three), each hop checked again. The body is capped at `BIGSHOT_IMAGE_MAX_BYTES`,
and it must be an image by its `Content-Type` and by its first bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from bigshot_llm.errors import RequestValidationFailed
from bigshot_llm.services.access.url_guard import IPAddress, classify, resolve

__all__ = ["ImageFetcher", "image_error", "sniff_image_type"]

MAX_REDIRECTS = 3
_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,", re.I)
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def sniff_image_type(data: bytes) -> str | None:
    """The image type the first bytes announce (PNG, JPEG, GIF, WebP, BMP), else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    return None


def image_error(field: str, reason: str) -> RequestValidationFailed:
    """A 422 naming the image's field (`messages.0.content.1.image_url.url`)."""
    loc: list[str | int] = ["body", *(int(p) if p.isdigit() else p for p in field.split("."))]
    return RequestValidationFailed(
        f"{field}: {reason}", details=[{"loc": loc, "field": field, "msg": reason}]
    )


@dataclass(frozen=True, slots=True)
class _Pinned:
    url: str  # with the checked address in place of the host name
    host: str  # for the Host header and TLS (SNI, certificate)


class ImageFetcher:
    """Fetches remote images (bounded, guarded) and checks data URLs."""

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float,
        allowed_hosts: frozenset[str] = frozenset(),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.allowed_hosts = allowed_hosts
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "bigshot-llm", "Accept": "image/*"},
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=0),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def inline(self, url: str, field: str) -> str:
        """`url` as a base64 data URL (remote images fetched), or a 422 naming `field`."""
        if url[:5].lower() == "data:":
            self.check_data_url(url, field)
            return url
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise image_error(field, "must be an http(s) URL or a base64 data URL (data:image/…)")
        data, declared = await self._fetch(url, field)
        mime = sniff_image_type(data)
        if mime is None:
            raise image_error(
                field,
                f"the URL sent {declared or 'something'} that is not a PNG, JPEG, GIF, "
                "WebP or BMP image",
            )
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    def check_data_url(self, url: str, field: str) -> None:
        match = _DATA_URL.match(url)
        if match is None:
            raise image_error(field, "a data URL must look like data:image/png;base64,…")
        payload = url[match.end() :]
        if len(payload) * 3 // 4 > self.max_bytes:
            raise image_error(field, f"the image is larger than {self.max_bytes} bytes")
        try:
            base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise image_error(field, "the data URL is not valid base64") from None

    async def _fetch(self, url: str, field: str) -> tuple[bytes, str | None]:
        for _ in range(MAX_REDIRECTS + 1):
            pinned = await self._pin(url, field)
            request = self._client.build_request(
                "GET",
                pinned.url,
                headers={"Host": pinned.host},
                extensions={"sni_hostname": urlsplit(url).hostname or ""},
            )
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TimeoutException:
                raise image_error(field, "the image URL did not answer in time") from None
            except httpx.HTTPError as exc:
                raise image_error(
                    field, f"the image could not be fetched ({type(exc).__name__})"
                ) from None
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                return await self._body(response, field), response.headers.get("content-type")
            finally:
                await response.aclose()
        raise image_error(field, f"the image URL redirected more than {MAX_REDIRECTS} times")

    async def _body(self, response: httpx.Response, field: str) -> bytes:
        if response.status_code != 200:
            raise image_error(field, f"fetching the image answered HTTP {response.status_code}")
        declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not declared.startswith("image/"):
            raise image_error(
                field, f"the URL is not an image (Content-Type {declared or 'missing'})"
            )
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise image_error(field, f"the image is larger than {self.max_bytes} bytes")
        received = bytearray()
        try:
            async for piece in response.aiter_bytes():
                received += piece
                if len(received) > self.max_bytes:
                    raise image_error(field, f"the image is larger than {self.max_bytes} bytes")
        except httpx.HTTPError as exc:
            raise image_error(
                field, f"the image could not be read ({type(exc).__name__})"
            ) from None
        return bytes(received)

    async def _pin(self, url: str, field: str) -> _Pinned:
        """The URL with a checked address of its host in place of the name."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise image_error(field, "the image URL must be http(s) with a host")
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        addresses = await resolve(host, port)
        if not addresses:
            raise image_error(field, f"host '{host}' cannot be resolved")
        chosen: IPAddress | None = None
        for address in addresses:
            verdict = classify(address)
            if verdict == "blocked":
                raise image_error(
                    field, f"'{host}' resolves to {address}, a link-local or metadata address"
                )
            if verdict == "private" and not self._allowed(host, address, port):
                raise image_error(
                    field,
                    f"'{host}' resolves to the non-public address {address}; images are fetched "
                    "from such hosts only when BIGSHOT_IMAGE_FETCH_ALLOWED_HOSTS lists them",
                )
            chosen = chosen or address
        assert chosen is not None
        literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        host_header = parts.netloc.rsplit("@", 1)[-1]  # never forward userinfo
        return _Pinned(
            urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header
        )

    def _allowed(self, host: str, address: IPAddress, port: int) -> bool:
        allowed = self.allowed_hosts
        return bool({host, f"{host}:{port}", str(address), f"{address}:{port}"} & allowed)
