"""The gateway on a real socket in front of the simulator, and `openai` SDK clients for both.

`gw`/`agw` talk to the gateway's `/v1`, `direct`/`adirect` to the simulator's own `/v1`, so a
test can make the same call both ways and compare. Error tests use `max_retries=0`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI

from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
SIM_KEY = "lm-studio"  # the simulator has auth off: any key is ignored
CHAT_MODEL = "qwen2.5-7b-instruct"
EMBED_MODEL = "text-embedding-nomic-embed-text-v1.5"


@pytest.fixture
def gateway(tmp_path: Path, sim: Any) -> Iterator[ThreadedServer]:
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1")
    with ThreadedServer(create_app(settings)) as server:
        yield server


def sdk(base_url: str, key: str = ADMIN_KEY, **options: Any) -> OpenAI:
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 10.0)
    return OpenAI(base_url=base_url, api_key=key, **options)


def async_sdk(base_url: str, key: str = ADMIN_KEY, **options: Any) -> AsyncOpenAI:
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 10.0)
    return AsyncOpenAI(base_url=base_url, api_key=key, **options)


@pytest.fixture
def gw(gateway: ThreadedServer) -> Iterator[OpenAI]:
    with sdk(f"{gateway.url}/v1") as client:
        yield client


@pytest.fixture
def direct(sim: Any) -> Iterator[OpenAI]:
    with sdk(f"{sim.url}/v1", SIM_KEY) as client:
        yield client


@pytest.fixture
async def agw(gateway: ThreadedServer) -> AsyncIterator[AsyncOpenAI]:
    async with async_sdk(f"{gateway.url}/v1") as client:
        yield client


@pytest.fixture
async def adirect(sim: Any) -> AsyncIterator[AsyncOpenAI]:
    async with async_sdk(f"{sim.url}/v1", SIM_KEY) as client:
        yield client


@pytest.fixture
def http(gateway: ThreadedServer) -> Iterator[httpx.Client]:
    """A plain client for what the SDK hides (raw bodies, SSE frames, missing fields)."""
    with httpx.Client(base_url=gateway.url, headers=ADMIN, timeout=10) as client:
        yield client


def add_provider(http: httpx.Client, name: str, base_url: str, kind: str = "lmstudio") -> str:
    response = http.post(
        "/api/v1/llm-providers", json={"name": name, "kind": kind, "base_url": base_url}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])
