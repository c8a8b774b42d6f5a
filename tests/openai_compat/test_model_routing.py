"""`provider-name/model-id` routing (`services.generation.routing`), without servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation.routing import Router, qualified_id
from bigshot_llm.services.providers.alias_book import AliasBook

PRINCIPAL = Principal(user_id="u1", user_name="alice", role="user", key_id="k1")


@dataclass
class FakeRecord:
    name: str


class FakeRegistry:
    def __init__(self, names: list[str]) -> None:
        self.records = [FakeRecord(n) for n in names]
        self.aliases = AliasBook()  # no stored aliases

    def usable_by(self, principal: Principal) -> list[FakeRecord]:
        return self.records


class FakeRouter(Router):
    """A `Router` whose `resolve` returns the provider name it was given."""

    def __init__(self, names: list[str]) -> None:
        self.registry: Any = FakeRegistry(names)

    def resolve(self, principal: Principal, provider_ref: str | None = None) -> Any:
        return provider_ref or "<active>"


@pytest.mark.parametrize(
    ("model", "target", "upstream_model", "prefixed"),
    [
        ("lms/qwen", "lms", "qwen", True),
        ("qwen", "<active>", "qwen", False),
        (None, "<active>", None, False),
        # A model id with a slash whose first part names no provider stays whole.
        ("lmstudio-community/qwen", "<active>", "lmstudio-community/qwen", False),
        ("lms/lmstudio-community/qwen", "lms", "lmstudio-community/qwen", True),
        # Provider names may contain "/": the longest matching name wins.
        ("team/a/m", "team/a", "m", True),
        ("team/b", "team", "b", True),
        ("lms/", "<active>", "lms/", False),
        ("lmsx/qwen", "<active>", "lmsx/qwen", False),
    ],
)
def test_route_model(
    model: str | None, target: str, upstream_model: str | None, prefixed: bool
) -> None:
    routed = FakeRouter(["lms", "team", "team/a"]).route(PRINCIPAL, model)
    assert (routed.target, routed.model, routed.prefixed) == (target, upstream_model, prefixed)


def test_qualified_id_round_trips() -> None:
    routed = FakeRouter(["lms"]).route(PRINCIPAL, qualified_id("lms", "org/model"))
    assert (routed.target, routed.model) == ("lms", "org/model")
