"""The request-id source and the body-limit layer's JSON check (one pass over the headers)."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse

from bigshot_llm.api.middleware import request_id
from bigshot_llm.api.middleware.body_limit import BodyLimitMiddleware
from bigshot_llm.api.middleware.content_type import JSONContentTypeMiddleware


def test_generated_request_ids_are_32_hex_digits_and_unique() -> None:
    ids = [request_id.new_request_id() for _ in range(10_000)]
    assert all(re.fullmatch(rb"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_process_draws_a_prefix_of_its_own() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, request_id.new_request_id())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64)
    os.close(read)
    os.close(write)
    assert child[:16] != request_id.new_request_id()[:16]


async def inner(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("inner")(scope, receive, send)


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


FOLDED = BodyLimitMiddleware(inner, max_bytes=10, json_only=True)
SEPARATE = BodyLimitMiddleware(JSONContentTypeMiddleware(inner), max_bytes=10)
REQUESTS = [
    ("POST", {"content-type": "text/plain"}, b"hi"),  # 415
    ("POST", {"content-type": "text/plain"}, b"x" * 20),  # 413 first
    ("POST", {"content-type": "application/json"}, b"{}"),
    ("POST", {"content-type": "application/merge-patch+json; charset=utf-8"}, b"{}"),
    ("POST", {}, b""),  # no body: no type needed
    ("PUT", {"content-type": "text/plain"}, b"hi"),
    ("PATCH", {}, b"hi"),
    ("DELETE", {"content-type": "text/plain"}, b"hi"),  # not a body method: passes
    ("GET", {"content-type": "text/plain"}, b""),
]


@pytest.mark.parametrize(("method", "headers", "body"), REQUESTS)
async def test_the_folded_check_answers_as_the_separate_layer(
    method: str, headers: dict[str, str], body: bytes
) -> None:
    async with client(FOLDED) as folded, client(SEPARATE) as separate:
        ours = await folded.request(method, "/v1/x", headers=headers, content=body)
        theirs = await separate.request(method, "/v1/x", headers=headers, content=body)
    assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content)


async def test_without_json_only_any_type_passes() -> None:
    async with client(BodyLimitMiddleware(inner, max_bytes=10)) as plain:
        answer = await plain.post("/v1/x", headers={"content-type": "text/plain"}, content=b"hi")
    assert answer.status_code == 200 and answer.text == "inner"
