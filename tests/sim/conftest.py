"""Fixtures for the simulator tests: one shared server, reset before every test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bigshot_llm.sim import SimServer
from bigshot_llm.sim.testing import running_sim


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """One simulator for the whole session (tests get it through ``sim``)."""
    with running_sim() as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> Iterator[SimServer]:
    """The shared simulator, running, with default settings and zeroed counters."""
    state = sim_server.state
    state.reset()
    sim_server.start()
    yield sim_server
    with contextlib.suppress(TimeoutError):
        state.wait_for(lambda: state.active_requests <= 0 and state.streams_open <= 0, 3.0)
    state.clear_fault_silently()


@pytest.fixture
async def client(sim: SimServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client pointed at ``sim``."""
    async with httpx.AsyncClient(base_url=sim.url, timeout=10.0) as http:
        yield http
