"""`POST /v1/embeddings`: floats as upstream sends them, base64 of float32 when asked."""

from __future__ import annotations

import base64
from array import array
from typing import Any

import httpx
from openai import AsyncOpenAI, OpenAI

from tests.openai_compat.conftest import EMBED_MODEL

TEXTS = ["first text", "second text", "third"]


def float32(vector: list[float]) -> list[float]:
    return array("f", vector).tolist()


def test_float_matches_a_direct_call(gw: OpenAI, direct: OpenAI) -> None:
    via_gateway = gw.embeddings.create(model=EMBED_MODEL, input=TEXTS, encoding_format="float")
    upstream = direct.embeddings.create(model=EMBED_MODEL, input=TEXTS, encoding_format="float")
    assert via_gateway.model_dump() == upstream.model_dump()
    assert [d.index for d in via_gateway.data] == [0, 1, 2]


def test_sdk_default_base64_decodes_to_the_same_vectors(gw: OpenAI, direct: OpenAI) -> None:
    # The SDK asks for base64 unless told otherwise, and decodes it itself.
    via_gateway = gw.embeddings.create(model=EMBED_MODEL, input=TEXTS)
    upstream = direct.embeddings.create(model=EMBED_MODEL, input=TEXTS)  # LM Studio: floats
    assert [d.embedding for d in via_gateway.data] == [float32(d.embedding) for d in upstream.data]
    assert via_gateway.usage == upstream.usage and via_gateway.model == upstream.model


def test_base64_body_is_little_endian_float32(http: httpx.Client, direct: OpenAI, sim: Any) -> None:
    body = {"model": EMBED_MODEL, "input": "hello", "encoding_format": "base64"}
    data = http.post("/v1/embeddings", json=body).json()["data"]
    assert sim.state.last_request_body == body  # forwarded as sent
    encoded = data[0]["embedding"]
    assert isinstance(encoded, str)
    raw = base64.b64decode(encoded)
    upstream = direct.embeddings.create(model=EMBED_MODEL, input="hello", encoding_format="float")
    assert len(raw) == 4 * len(upstream.data[0].embedding)
    assert raw == array("f", upstream.data[0].embedding).tobytes()  # x86/ARM: little-endian


def test_missing_model_uses_the_embeddings_model(http: httpx.Client) -> None:
    response = http.post("/v1/embeddings", json={"input": ["a", "b"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == EMBED_MODEL and len(body["data"]) == 2
    assert isinstance(body["data"][0]["embedding"], list)


async def test_async_client(agw: AsyncOpenAI, adirect: AsyncOpenAI) -> None:
    upstream = await adirect.embeddings.create(
        model=EMBED_MODEL, input=TEXTS, encoding_format="float"
    )
    floats = await agw.embeddings.create(model=EMBED_MODEL, input=TEXTS, encoding_format="float")
    assert floats.model_dump() == upstream.model_dump()
    decoded = await agw.embeddings.create(model=EMBED_MODEL, input=TEXTS)
    assert [d.embedding for d in decoded.data] == [float32(d.embedding) for d in upstream.data]
