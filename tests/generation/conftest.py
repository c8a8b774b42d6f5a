"""Fixtures of the GPU tests that need two simulators: a pool of two members
(`test_gpu_sticky`) or a primary provider and the one it falls back to (`test_gpu_fallbacks`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigshot_llm.sim.testing import running_sim
from tests.generation.test_gpu_admission import gateway_over
from tests.support.servers import ThreadedServer


@pytest.fixture
def second_sim() -> Iterator[Any]:
    """A second simulator, with answers of its own (another seed)."""
    with running_sim(seed="second") as server:
        yield server


@pytest.fixture
def two_sim_gateway(tmp_path: Path, sim: Any, second_sim: Any) -> Iterator[ThreadedServer]:
    """A gateway on `sim` that may also reach `second_sim`."""
    with gateway_over(tmp_path, sim, second_sim) as server:
        yield server
