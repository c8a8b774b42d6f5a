"""The gateway in process (uvicorn in a thread, so its fds and tasks can be counted) with a
fault proxy between it and the LM Studio simulator; a Redis server and a Postgres database of
the test's own for the dependency outages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.sim.testing import running_sim
from tests.conftest import make_settings
from tests.reliability.helpers import (
    ADMIN,
    ADMIN_KEY,
    CONNECT_TIMEOUT_UNDER_LOAD,
    fd_count,
    settle,
    task_count,
    task_names,
)
from tests.support.fault_proxy import FaultProxy
from tests.support.redis_server import OwnRedis, require_redis_server
from tests.support.servers import ThreadedServer
from tests.support.services import create_postgres_database, drop_postgres_database


@dataclass
class Rig:
    """Simulator ← fault proxy ← gateway (in process), with the leak baselines."""

    sim: Any
    proxy: FaultProxy
    gateway: ThreadedServer
    provider_id: str
    fds: int = 0
    tasks: int = 0

    @property
    def url(self) -> str:
        return self.gateway.url

    def take_baseline(self) -> None:
        self.proxy.wait_idle(timeout=5)
        self.fds, self.tasks = fd_count(), task_count(self.gateway)

    def assert_no_leaks(self, case: str, timeout: float = 30.0) -> None:
        """Upstream connections, fds and tasks back to the baseline. A leak stays for good, so
        the wait can be long: a task that ends late on a busy machine is not one (a 5 s wait
        once saw one task more than the baseline)."""
        try:
            self.proxy.wait_idle(timeout=timeout)
        except TimeoutError as exc:
            raise AssertionError(f"{case}: {exc}") from None
        tasks = settle(lambda: task_count(self.gateway), self.tasks, timeout)
        fds = settle(fd_count, self.fds, timeout)
        assert tasks <= self.tasks, (
            f"{case}: {tasks} tasks, baseline {self.tasks}: {task_names(self.gateway)}"
        )
        assert fds <= self.fds, f"{case}: {fds} fds, baseline {self.fds}"
        state = self.sim.state
        try:  # the upstream notices a closed connection on its own time (a busy machine: late)
            state.wait_for(lambda: state.streams_open == 0 and state.active_requests == 0, timeout)
        except TimeoutError as exc:
            raise AssertionError(f"{case}: the upstream still serves: {exc}") from None


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with (
        running_sim(tokens=24, token_delay=0.01, parallel=1000) as sim,
        # Its keep-alive timeout is a backstop: the gateway drops idle connections after 0.3 s
        # itself, and a busy machine can hold a finished answer back for a second.
        FaultProxy(sim.port, idle_timeout=3.0) as proxy,
    ):
        settings = make_settings(
            tmp_path,
            bootstrap_admin_key=ADMIN_KEY,
            lmstudio_api_base=f"{proxy.url}/v1",
            sse_ping_seconds=0.5,
            health_check_seconds=0,
            rate_limit_admin=0,
            upstream_keepalive_seconds=0.3,  # idle pooled connections go quickly (leak checks)
            # Many streams at once on the connections themselves: GPU-slot admission (tested
            # in tests/generation) would queue all but 4 of them in the gateway.
            admission_enabled=False,
        )
        with ThreadedServer(create_app(settings)) as gateway:
            listing = httpx.get(f"{gateway.url}/api/v1/llm-providers", headers=ADMIN, timeout=10)
            provider_id = listing.json()["data"][0]["id"]
            # Connecting is not what these tests time: with the machine busy, a connect through
            # the proxy (a thread of this process) can outlast the default 5 s.
            httpx.patch(
                f"{gateway.url}/api/v1/llm-providers/{provider_id}",
                json={"connect_timeout": CONNECT_TIMEOUT_UNDER_LOAD},
                headers=ADMIN,
                timeout=10,
            ).raise_for_status()
            yield Rig(sim, proxy, gateway, provider_id)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A throwaway `redis-server` the test may stop, restart or put behind a fault proxy."""
    require_redis_server()
    server = OwnRedis().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh Postgres database of the test's own (sync tests: the gateway runs in a thread)."""
    url = asyncio.run(create_postgres_database())
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))
