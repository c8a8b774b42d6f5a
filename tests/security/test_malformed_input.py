"""A thousand malformed bodies: only 4xx answers, and the database is intact afterwards."""

from __future__ import annotations

import random
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
TARGETS = [
    ("POST", "/api/v1/llm-providers/chat/completions"),
    ("POST", "/api/v1/llm-providers/completions"),
    ("POST", "/api/v1/llm-providers/embeddings"),
    ("POST", "/api/v1/llm-providers"),
    ("POST", "/api/v1/keys"),
]
VALID: dict[str, dict[str, Any]] = {
    "/api/v1/llm-providers/chat/completions": {"messages": [{"role": "user", "content": "x"}]},
    "/api/v1/llm-providers/completions": {"prompt": "x"},
    "/api/v1/llm-providers/embeddings": {"input": "x"},
    "/api/v1/llm-providers": {"name": "n", "base_url": "http://127.0.0.1:9"},
    "/api/v1/keys": {"name": "n"},
}
WEIRD_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    10**30,
    -(10**30),
    1e308,
    "",
    "x" * 5000,
    [],
    {},
    [[[]]],
    {"a": {"b": {"c": {}}}},
    "\u0000",
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    3.14,
    "NaN",
    ["a"] * 100,
]


def mutated(rng: random.Random, path: str) -> bytes:
    body = dict(VALID[path])
    kind = rng.randrange(8)
    if kind == 0:  # wrong types / huge numbers for known fields
        body[rng.choice([*body, "temperature", "max_tokens", "top_p", "stop", "stream"])] = (
            rng.choice(WEIRD_VALUES)
        )
        return _dump(body)
    if kind == 1:  # deep nesting
        depth = rng.randrange(50, 5000)
        return b'{"messages": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == 2:  # invalid UTF-8
        return b'{"prompt": "' + bytes([0xFF, 0xFE, 0xC3]) + b'"}'
    if kind == 3:  # truncated JSON
        raw = _dump(body)
        return raw[: rng.randrange(1, max(2, len(raw) - 1))]
    if kind == 4:  # not an object
        return rng.choice([b"[]", b"null", b"42", b'"str"', b"true", b""])
    if kind == 5:  # unknown fields
        body[f"unknown_{rng.randrange(1000)}"] = rng.choice(WEIRD_VALUES)
        return _dump(body)
    if kind == 6:  # numbers JSON cannot represent well
        return b'{"prompt": "x", "temperature": 1e999, "max_tokens": 99999999999999999999}'
    raw = bytearray(_dump(body))  # random byte flips
    for _ in range(rng.randrange(1, 4)):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


def _dump(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except TypeError:
        return orjson.dumps({k: str(v) for k, v in body.items()})


async def test_a_thousand_bad_bodies_get_only_4xx(client: httpx.AsyncClient, app: Any) -> None:
    rng = random.Random(1234)
    before = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
    statuses: dict[int, int] = {}
    sent = 0
    while sent < 1000:
        method, path = rng.choice(TARGETS)
        body = mutated(rng, path)
        try:
            orjson.loads(body)
            is_valid_json = True
        except orjson.JSONDecodeError:
            is_valid_json = False
        response = await client.request(
            method, path, content=body, headers={**ADMIN, "Content-Type": "application/json"}
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code < 400:
            # a mutation may still be a valid request; it must then be a real success
            assert is_valid_json, (path, body[:200], response.text[:200])
        else:
            assert response.status_code < 500, (path, body[:200], response.text[:300])
            assert response.json()["success"] is False
        sent += 1
    assert sum(v for k, v in statuses.items() if k >= 400) > 900
    engine = app.state.resources.engine
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert (await conn.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
    after = (await client.get("/api/v1/llm-providers", headers=ADMIN)).json()["data"]
    assert {p["id"] for p in before} <= {p["id"] for p in after}
