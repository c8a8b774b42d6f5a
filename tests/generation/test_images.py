"""The image fetcher's SSRF rules, size cap and data-URL checks (a real loopback host)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from bigshot_llm.errors import RequestValidationFailed
from bigshot_llm.services.generation.images import ImageFetcher, sniff_image_type
from tests.support.images import CAT, image_host

FIELD = "messages.0.content.1.image_url.url"


@pytest.fixture
async def strict() -> AsyncIterator[ImageFetcher]:
    fetcher = ImageFetcher(max_bytes=1000, timeout=5)  # no private host allowed
    yield fetcher
    await fetcher.aclose()


async def refused(fetcher: ImageFetcher, url: str) -> str:
    with pytest.raises(RequestValidationFailed) as caught:
        await fetcher.inline(url, FIELD)
    assert caught.value.details[0]["field"] == FIELD
    return caught.value.message


async def test_loopback_is_refused_unless_listed(strict: ImageFetcher) -> None:
    with image_host() as host:
        message = await refused(strict, f"{host.url}/cat.png")
        assert "non-public address 127.0.0.1" in message
        allowed = ImageFetcher(max_bytes=1000, timeout=5, allowed_hosts=frozenset({"127.0.0.1"}))
        try:
            inlined = await allowed.inline(f"{host.url}/cat.png", FIELD)
        finally:
            await allowed.aclose()
    assert inlined == "data:image/png;base64," + base64.b64encode(CAT).decode()


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data", "http://[fe80::1]/x", "http://0.0.0.0/x"]
)
async def test_metadata_and_link_local_are_always_refused(strict: ImageFetcher, url: str) -> None:
    assert "link-local or metadata" in await refused(strict, url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "http(s) URL or a base64 data URL"),
        ("ftp://example.test/x.png", "http(s) URL or a base64 data URL"),
        ("data:text/html;base64,PGI+", "data:image/png;base64"),
        ("data:image/png;base64,@@@", "not valid base64"),
        ("data:image/png;base64," + "A" * 2000, "larger than 1000 bytes"),
    ],
)
async def test_bad_urls(strict: ImageFetcher, url: str, reason: str) -> None:
    assert reason in await refused(strict, url)


def test_sniffing() -> None:
    assert sniff_image_type(CAT) == "image/png"
    assert sniff_image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b"<html>") is None
