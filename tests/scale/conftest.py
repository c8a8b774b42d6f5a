"""Three gateway replicas (real processes) on a fresh Postgres database and the local Redis,
an LM Studio simulator behind them, shared by every test in this folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bigshot_llm.sim.testing import running_sim
from tests.scale.cluster import Cluster
from tests.support.services import PG_HOST, PG_PORT, require_service

# Long enough to reconnect, stop or SIGTERM in the middle; most tests cap it with max_tokens.
SIM_TOKENS = 80
SIM_TOKEN_DELAY = 0.03

CLUSTER_SETTINGS = {
    "BIGSHOT_STREAM_GRACE_SECONDS": "1.5",
    "BIGSHOT_SHUTDOWN_GRACE_SECONDS": "15",
    "BIGSHOT_POOL_HEALTH_SECONDS": "0.5",
}


@pytest.fixture(scope="package")
def scale_sim() -> Iterator[Any]:
    with running_sim(tokens=SIM_TOKENS, token_delay=SIM_TOKEN_DELAY) as server:
        yield server


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory, scale_sim: Any) -> Iterator[Cluster]:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    require_service("Redis", "127.0.0.1", 6379)
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), scale_sim.url, **CLUSTER_SETTINGS)
    try:
        cluster.add(3)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def replicas(cluster: Cluster) -> list[Any]:
    return cluster.replicas[:3]
