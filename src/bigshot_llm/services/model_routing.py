"""Model ids that name their provider: ``provider-name/model-id`` → (provider, model).

The OpenAI-compatible surface has no `provider` field, so a caller picks a provider by
prefixing the model id with the provider's name. Model ids may contain ``/`` themselves
(``lmstudio-community/qwen``), so a prefix counts only when a provider of that name is
usable by the caller; anything else is a bare id for the caller's active provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from bigshot_llm.services.auth import Principal
from bigshot_llm.services.llm import LLMService, Target

__all__ = ["Routed", "qualified_id", "route_model"]

SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class Routed:
    """Where a request goes: the provider, and the model id as that provider knows it."""

    target: Target
    model: str | None
    prefixed: bool


def qualified_id(provider_name: str, model_id: str) -> str:
    """The id that routes to `model_id` on the provider called `provider_name`."""
    return f"{provider_name}{SEPARATOR}{model_id}"


def provider_prefix(llm: LLMService, principal: Principal, model: str) -> str | None:
    """The name of a usable provider that `model` starts with (followed by ``/``), if any.

    The longest name wins, so providers called ``a`` and ``a/b`` can coexist.
    """
    best: str | None = None
    for record in llm.registry.usable_by(principal):
        name = record.name
        if (
            len(model) > len(name) + 1
            and model[len(name)] == SEPARATOR
            and model.startswith(name)
            and (best is None or len(name) > len(best))
        ):
            best = name
    return best


def route_model(llm: LLMService, principal: Principal, model: str | None) -> Routed:
    """The target and upstream model id for `model` (None: the active provider's default)."""
    if model and SEPARATOR in model:
        name = provider_prefix(llm, principal, model)
        if name is not None:
            return Routed(llm.resolve(principal, name), model[len(name) + 1 :], True)
    return Routed(llm.resolve(principal), model, False)
