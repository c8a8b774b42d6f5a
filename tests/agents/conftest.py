"""The gateway on a real socket in front of the simulator, with the official `anthropic` and
`openai` SDK clients pointed at it the way Claude Code and Codex are (base URL + key)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from openai import OpenAI

from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
CHAT_MODEL = "qwen2.5-7b-instruct"
REASONING_MODEL = "qwen3-8b"
VISION_MODEL = "gemma-3-4b-it"


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    """Override in a module to change the gateway's settings."""
    return {}


@pytest.fixture
def gateway(
    tmp_path: Path, sim: Any, database_url: str, gateway_overrides: dict[str, Any]
) -> Iterator[ThreadedServer]:
    settings = make_settings(
        tmp_path,
        lmstudio_api_base=f"{sim.url}/v1",
        database_url=database_url,
        **gateway_overrides,
    )
    with ThreadedServer(create_app(settings)) as server:
        yield server


@pytest.fixture
def claude(gateway: ThreadedServer) -> Iterator[anthropic.Anthropic]:
    """The Anthropic SDK as Claude Code configures it: base URL and x-api-key."""
    with anthropic.Anthropic(
        base_url=gateway.url, api_key=ADMIN_KEY, max_retries=0, timeout=20.0
    ) as client:
        yield client


@pytest.fixture
def codex(gateway: ThreadedServer) -> Iterator[OpenAI]:
    with OpenAI(
        base_url=f"{gateway.url}/v1", api_key=ADMIN_KEY, max_retries=0, timeout=20.0
    ) as client:
        yield client


@pytest.fixture
def http(gateway: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=ADMIN, timeout=20) as client:
        yield client


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event, data) of every event of an SSE body, comments skipped."""
    out: list[tuple[str | None, str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            out.append((name, "\n".join(data)))
    return out


@pytest.fixture(params=["chat", "native"])
def upstream(request: pytest.FixtureRequest, sim: Any) -> str:
    """Both upstream kinds: a chat-completions-only server (the gateway translates) and one
    that speaks Messages and Responses itself (the gateway forwards; found by its probe)."""
    sim.state.native_apis = request.param == "native"
    return str(request.param)


def agent_path(sim: Any, upstream: str, path: str) -> None:
    """The simulator got `path` itself on a native upstream, chat completions otherwise."""
    seen = sim.state.requests_by_path
    if upstream == "native":
        assert seen.get(path, 0) >= 2, seen  # the probe, then the request
        assert not seen.get("/v1/chat/completions"), seen
    else:
        assert seen.get("/v1/chat/completions"), seen
