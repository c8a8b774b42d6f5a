"""How many generations a model can run at once, and where: its lanes.

A lane is one loaded instance on one server with its parallel-prediction slots, read from
LM Studio's `/api/v1/models` (`loaded_instances[].config.parallel`; instance ids `key`,
`key:2`, …). A pool's members and a model's duplicate instances are the lanes of one
capacity pool. Where the server does not say (an older LM Studio, a model not loaded yet, an
OpenAI-compatible server), `BIGSHOT_SLOTS_OVERRIDES` gives the slots per provider or per
model, else `BIGSHOT_SLOTS_DEFAULT` for LM Studio; other kinds are not admission-controlled
unless an override names them. Lanes are keyed by server URL, not by provider record, so two
records pointing at one LM Studio share its slots.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bigshot_llm.providers.pool import PooledProvider
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.settings import parse_name_numbers

__all__ = ["Capacity", "Lane", "parse_overrides"]


@dataclass(frozen=True, slots=True)
class Lane:
    """One instance on one server: the upstream model id to send and its slots."""

    key: str  # "<server url>|<instance id>": what slot counters are named after
    server: str  # the server's base URL (a pool member's, or the provider's)
    member: str | None  # the pool member to send to (None: not a pool)
    instance: str  # the model or instance id the upstream request names
    slots: int
    reported: bool  # the server reported the slots (else an override or the default)
    weight: float = 1.0  # the pool member's share (`pool_weights`)
    rank: int = 0  # the member's place in the pool (base_url first): `pool_order` preference


def parse_overrides(raw: str) -> dict[str, int]:
    """`BIGSHOT_SLOTS_OVERRIDES` (`provider=4,provider/model=2,model=1`) → {name: slots}."""
    return {name: max(1, int(value)) for name, value in parse_name_numbers(raw).items()}


class Capacity:
    """The lanes of a (provider, model), from the model list and the settings."""

    def __init__(self, router: Router, *, default_slots: int, overrides: dict[str, int]) -> None:
        self.router = router
        self.default_slots = max(1, default_slots)
        self.overrides = overrides

    def _override(self, target: Target, model: str) -> int | None:
        name = target.record.name
        for key in (f"{name}/{model}", model, name):
            if key in self.overrides:
                return self.overrides[key]
        return None

    def controlled(self, target: Target, model: str) -> bool:
        """Whether generations on this provider and model wait for a slot."""
        return target.record.kind == "lmstudio" or self._override(target, model) is not None

    def lanes(self, target: Target, model: str) -> list[Lane]:
        """Every lane that can serve `model`, up pool members first in pool order."""
        fallback = self._override(target, model) or self.default_slots
        provider = target.provider
        if isinstance(provider, PooledProvider):
            lanes: list[Lane] = []
            members = [m for m in provider.members if m.up and m.rank(model) < 2]
            rank = {m.url: i for i, m in enumerate(provider.members)}
            for member in members or provider.members:
                found = member.instances.get(model) or []
                for lane in _lanes(member.url, member.url, model, found, fallback):
                    weight = target.record.weight_of(member.url)
                    lanes.append(replace(lane, weight=weight, rank=rank[member.url]))
            return lanes
        # No I/O on the request path: the last detailed listing (the model list, a load, the
        # exclusive policy and non-admin requests refresh it), else the fallback's one lane.
        instances = self.router.catalog.instances(target.record, model) or []
        return _lanes(target.record.base_url, None, model, instances, fallback)


def _lanes(
    server: str, member: str | None, model: str, instances: list[dict[str, Any]], fallback: int
) -> list[Lane]:
    if not instances:  # not loaded (JIT) or not reported: one lane of the fallback size
        return [Lane(f"{server}|{model}", server, member, model, fallback, False)]
    lanes = []
    for item in instances:
        ident = str(item.get("id") or model)
        parallel = item.get("parallel")
        reported = isinstance(parallel, int) and parallel > 0
        slots = parallel if reported else fallback
        assert isinstance(slots, int)
        lanes.append(Lane(f"{server}|{ident}", server, member, ident, slots, reported))
    return lanes
