"""Test helper: ``with running_sim(tokens=5) as sim: ...`` (wrap it in your own fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bigshot_llm.sim.server import SimServer
from bigshot_llm.sim.state import SimState


@contextmanager
def running_sim(
    *, port: int = 0, state: SimState | None = None, **state_overrides: Any
) -> Iterator[SimServer]:
    """Start a :class:`SimServer` on 127.0.0.1 (ephemeral port by default) and stop it after.

    ``state_overrides`` go to :class:`SimState` (``tokens``, ``token_delay``, ``jit_loading``,
    ``jit_load_delay``, ``require_api_key``, ``seed``, ``models``, ``loaded``, ``parallel``).
    """
    if state is not None and state_overrides:
        raise TypeError("pass either state or state overrides, not both")
    server = SimServer(state if state is not None else SimState(**state_overrides), port=port)
    with server:
        yield server
