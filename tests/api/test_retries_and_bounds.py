"""Deliberate breaks nobody caught: retries switched off, and the sampling bounds moved.

The shared test settings turn retries off (`retry_attempts=0`), so here the app runs with
the shipped default of 2 and the simulator injects exactly one 503.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bigshot_llm.settings import Settings
from tests.conftest import learn_models

NATIVE_CHAT = "/api/v1/llm-providers/chat/completions"
OPENAI_CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "hello"}]
MODEL = "qwen2.5-7b-instruct"  # named, so no model listing takes the injected fault


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"retry_attempts": Settings.model_fields["retry_attempts"].default}


def test_the_shipped_default_retries() -> None:
    assert Settings.model_fields["retry_attempts"].default == 2


@pytest.mark.parametrize("path", [NATIVE_CHAT, OPENAI_CHAT])
async def test_one_upstream_503_is_retried_and_the_answer_is_200(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sim: Any, path: str
) -> None:
    await learn_models(client)
    before = chat_calls(sim)
    sim.state.set_fault("http_503", count=1, on="generation")
    response = await client.post(
        path, json={"model": MODEL, "messages": MESSAGES}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert sim.state.fault is None  # the one 503 was served …
    assert chat_calls(sim) - before == 2  # … and the call made once more


@pytest.mark.parametrize("path", [NATIVE_CHAT, OPENAI_CHAT])
async def test_one_upstream_503_before_a_stream_is_retried(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sim: Any, path: str
) -> None:
    await learn_models(client)
    before = chat_calls(sim)
    sim.state.set_fault("http_503", count=1, on="generation")
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    async with client.stream("POST", path, json=body, headers=admin_headers) as response:
        raw = b"".join([piece async for piece in response.aiter_raw()])
    assert response.status_code == 200, raw
    assert b"error" not in raw
    assert sim.state.fault is None
    assert chat_calls(sim) - before == 2


def chat_calls(sim: Any) -> int:
    return int(sim.state.counters()["requests_by_path"].get("/v1/chat/completions", 0))


# ---- bounds: the edges on both surfaces ----------------------------------------------------

EDGES = [
    ("temperature", 2.0, 2.01),
    ("temperature", 0.0, -0.01),
    ("top_p", 1.0, 1.01),
    ("top_p", 0.0, -0.01),
    ("max_tokens", 32768, 32769),
    ("max_tokens", 1, 0),
]


@pytest.mark.parametrize("path", [NATIVE_CHAT, OPENAI_CHAT])
@pytest.mark.parametrize(("field", "accepted", "refused"), EDGES)
async def test_sampling_bounds_are_exact(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    sim: Any,
    path: str,
    field: str,
    accepted: float,
    refused: float,
) -> None:
    ok = await client.post(
        path, json={"messages": MESSAGES, field: accepted}, headers=admin_headers
    )
    assert ok.status_code == 200, ok.text
    assert sim.state.last_request_body.get(field) == accepted  # sent upstream as given
    bad = await client.post(
        path, json={"messages": MESSAGES, field: refused}, headers=admin_headers
    )
    assert bad.status_code in (400, 422), bad.text
    assert field in bad.text
