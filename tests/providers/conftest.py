"""Fixtures for the provider tests: specs, and the LM Studio simulator per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bigshot_llm.providers.base import ProviderSpec
from bigshot_llm.sim.testing import running_sim

SpecFactory = Callable[..., ProviderSpec]


@pytest.fixture
def make_spec() -> SpecFactory:
    """``make_spec(**overrides)``: an httpx-transport spec on a fake host (respx intercepts)."""

    def factory(**overrides: Any) -> ProviderSpec:
        values: dict[str, Any] = {
            "id": "p1",
            "name": "local",
            "kind": "lmstudio",
            "base_url": "http://lms.test:1234",
            "transport": "httpx",
            "api_key": "sk-test-secret-key-x9Qa",
        }
        values.update(overrides)
        return ProviderSpec(**values)

    return factory


@pytest.fixture
def sim() -> Iterator[Any]:
    """A fresh LM Studio simulator on an ephemeral port, fast tokens."""
    # Imported, not importorskip'd: a broken simulator must fail these tests, not skip them.
    with running_sim(tokens=12) as server:
        yield server
