"""Failures surface as the `openai` SDK's own exception classes, in OpenAI's error shape."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.openai_compat.conftest import CHAT_MODEL, add_provider, sdk
from tests.openai_compat.upstream import RATE_LIMITED_MODEL, recording_upstream
from tests.support.servers import ThreadedServer, free_port

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def test_bad_key_is_authentication_error(gateway: ThreadedServer) -> None:
    with sdk(f"{gateway.url}/v1", "bsk_wrong") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            client.models.list()
    assert caught.value.status_code == 401
    assert caught.value.type == "authentication_error"
    assert caught.value.code == "unauthorized"


def test_missing_key_is_401_in_openai_shape(gateway: ThreadedServer) -> None:
    response = httpx.post(f"{gateway.url}/v1/chat/completions", json={"messages": MESSAGES})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "authentication_error" and error["param"] is None


def test_unknown_model_and_provider_are_not_found(gw: OpenAI, http: httpx.Client) -> None:
    for model in ("no-such-model", "no-such-provider/" + CHAT_MODEL):
        with pytest.raises(openai.NotFoundError) as caught:
            gw.chat.completions.create(model=model, messages=MESSAGES)
        assert caught.value.code == "model_not_found"
    http.get("/v1/models")  # now the list is known: checked before calling upstream
    with pytest.raises(openai.NotFoundError) as caught:
        gw.completions.create(model="no-such-model", prompt="x")
    assert caught.value.param == "model"
    with pytest.raises(openai.NotFoundError):
        gw.embeddings.create(model="no-such-model", input="x")


def test_unknown_path_is_404_in_openai_shape(http: httpx.Client) -> None:
    response = http.get("/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_upstream_429_is_rate_limit_error(gw: OpenAI, http: httpx.Client) -> None:
    app, seen = recording_upstream()
    with ThreadedServer(app) as upstream:
        add_provider(http, "cloud", upstream.url, kind="openai_compatible")
        with pytest.raises(openai.RateLimitError) as caught:
            gw.chat.completions.create(model=f"cloud/{RATE_LIMITED_MODEL}", messages=MESSAGES)
    assert caught.value.status_code == 429
    assert caught.value.type == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "30"
    assert "Rate limit reached" in caught.value.message
    assert len(seen) == 1


def test_client_timeout_is_api_timeout_error_and_cancels_upstream(
    gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.token_delay = 0.1
    sim.state.tokens = 100  # ten seconds of generation
    with sdk(f"{gateway.url}/v1", timeout=0.5) as client:
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
    await_aborted = sim.state.wait_for  # the gateway noticed and closed the upstream request
    await_aborted(lambda: sim.state.aborted_requests == 1, timeout=2)
    assert sim.state.active_requests == 0


def test_gateway_not_listening_is_api_connection_error() -> None:
    with sdk(f"http://127.0.0.1:{free_port()}/v1") as client:
        with pytest.raises(openai.APIConnectionError):
            client.models.list()


def test_stopped_upstream_is_503(gw: OpenAI, sim: Any) -> None:
    sim.stop()
    calls = [
        lambda: gw.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES),
        lambda: gw.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True),
        lambda: gw.completions.create(model=CHAT_MODEL, prompt="x"),
        lambda: gw.embeddings.create(model="text-embedding-nomic-embed-text-v1.5", input="x"),
    ]
    for call in calls:
        with pytest.raises(openai.InternalServerError) as caught:
            call()
        assert caught.value.status_code == 503
        assert caught.value.code == "provider_unavailable"
    assert list(gw.models.list()) == []  # the only provider is down: an empty list, not a 503
