"""LM Studio simulator: a real HTTP server mimicking LM Studio, for tests and demos.

>>> from bigshot_llm.sim import SimServer, SimState
>>> with SimServer(SimState(tokens=5)) as sim:  # doctest: +SKIP
...     httpx.get(f"{sim.url}/v1/models")
"""

from __future__ import annotations

from bigshot_llm.sim.app import create_sim_app
from bigshot_llm.sim.server import SimServer
from bigshot_llm.sim.state import FAULTS, FaultSpec, ModelSpec, SimState, default_models

__all__ = [
    "FAULTS",
    "FaultSpec",
    "ModelSpec",
    "SimServer",
    "SimState",
    "create_sim_app",
    "default_models",
]
