"""Fixtures for model operations: extra simulators on loopback, a gateway on a real socket,
SSE reading, and the example provider plugin installed into the venv once per session."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.providers.kinds import ENTRY_POINT_GROUP
from bigshot_llm.sim.testing import running_sim
from bigshot_llm.sse import SSEDecoder
from tests.conftest import make_settings
from tests.support.servers import ThreadedServer

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "example_plugin"


@pytest.fixture
def second_sim() -> Iterator[Any]:
    """Another LM Studio simulator (a second machine, as far as the gateway can tell)."""
    with running_sim(seed="second") as server:
        yield server


@pytest.fixture
def gateway(tmp_path: Path, sim: Any) -> Iterator[ThreadedServer]:
    """The gateway itself on an ephemeral loopback port (real sockets end to end)."""
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1")
    with ThreadedServer(create_app(settings)) as server:
        yield server


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event name, parsed data) for each event of a streamed answer."""
    import orjson

    decoder = SSEDecoder()
    async for raw in response.aiter_raw():
        for event in decoder.feed(raw):
            if event.event:
                yield event.event, orjson.loads(event.data)


def _plugin_installed() -> bool:
    return any(ep.name == "echo" for ep in entry_points(group=ENTRY_POINT_GROUP))


def _pip(*extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *extra, str(PLUGIN_DIR)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="session")
def echo_plugin() -> str:
    """Install tests/plugins/example_plugin into this venv (once) and return its kind."""
    if not _plugin_installed():
        # Without build isolation when the venv's setuptools can build wheels itself,
        # else with it (pip then takes setuptools from the configured index).
        done = _pip("--no-build-isolation")
        if done.returncode != 0:
            done = _pip()
        if done.returncode != 0:
            pytest.fail(f"installing the example plugin failed:\n{done.stdout}\n{done.stderr}")
        importlib.invalidate_caches()
    assert _plugin_installed(), "the plugin is installed but its entry point is not visible"
    return "echo"
