"""A loopback image host for the image-fetching tests: a real PNG, one too big, HTML in
disguise, a redirect, and a page."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.support.servers import ThreadedServer


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG of `width` × `height` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


CAT = png()
BIG_RAW = CAT + b"\x00" * 300_000  # a PNG header with 300 KB behind it


def image_app() -> Starlette:
    async def cat(request: Request) -> Response:
        return Response(CAT, media_type="image/png")

    async def big(request: Request) -> Response:
        return Response(BIG_RAW, media_type="image/png")

    async def disguised(request: Request) -> Response:
        return Response(b"<html>not an image</html>", media_type="image/png")

    async def page(request: Request) -> Response:
        return Response(b"<html></html>", media_type="text/html")

    async def missing(request: Request) -> Response:
        return Response(b"gone", status_code=404, media_type="text/plain")

    async def moved(request: Request) -> Response:
        return RedirectResponse("/cat.png", status_code=302)

    async def loop(request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    return Starlette(
        routes=[
            Route("/cat.png", cat),
            Route("/big.png", big),
            Route("/disguised.png", disguised),
            Route("/page.html", page),
            Route("/missing.png", missing),
            Route("/moved", moved),
            Route("/loop", loop),
        ]
    )


@contextmanager
def image_host() -> Iterator[ThreadedServer]:
    with ThreadedServer(image_app(), lifespan="off") as server:
        yield server
