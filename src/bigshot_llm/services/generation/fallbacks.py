"""Fallbacks: where a request goes when its provider refuses it before the first byte.

A provider lists fallbacks (`fallbacks: [{"provider", "model"}, …]`): another provider with
the same model, another model on the same provider, or both. When the primary fails before
any answer byte reached the client (unreachable, a 5xx, the GPU queue full or timed out, a
model that cannot be loaded or is not there) the next fallback is tried, in order, each
once; after the first byte never (the client has seen tokens, and a second generation would
not continue the first). Only the primary's list is followed (a fallback's own fallbacks
are not: no cycles), and only providers the caller may use.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from bigshot_llm.errors import GatewayError, ProviderTimeout, UpstreamError
from bigshot_llm.providers.pool import is_transient
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.generation.routing import Router, Target

__all__ = ["FALLBACK_CODES", "FallbackPlan", "falls_back"]

log = logging.getLogger(__name__)

# Refusals that say "not here, not now" rather than "not this request".
FALLBACK_CODES = frozenset(
    {
        "queue_full",
        "queue_timeout",
        "model_not_loaded",
        "model_not_found",
        "model_busy",
        "provider_disabled",
        "provider_busy",
        "secret_unreadable",
    }
)


def falls_back(exc: GatewayError) -> bool:
    """Whether a failure before the first byte is worth another target.

    Our own timeouts are not (a slow upstream may still be generating, and a second
    generation would double the cost); an upstream's own 5xx answer is."""
    details = exc.details if isinstance(exc.details, dict) else {}
    status = details.get("upstream_status")
    if isinstance(status, int) and status >= 500:
        return True
    if isinstance(exc, ProviderTimeout):
        return False
    if exc.code in FALLBACK_CODES or is_transient(exc):
        return True
    return type(exc) is UpstreamError and exc.code == "bad_upstream_response" and status is None


@dataclass(slots=True)
class FallbackPlan:
    """The fallbacks of one request, consumed in order, and what each failed attempt said."""

    targets: list[tuple[str, str | None]]  # (provider id, model or None: its default)
    body: dict[str, Any]  # the caller's body before the primary adapted it
    tried: list[dict[str, Any]] = field(default_factory=list)

    def failed(self, provider: str, model: str | None, exc: GatewayError) -> None:
        self.tried.append({"provider": provider, "model": model, "code": exc.code})
        log.info("fallback: %s/%s failed before the first byte (%s)", provider, model, exc.code)

    def next(self) -> tuple[str, str | None] | None:
        return self.targets.pop(0) if self.targets else None


def plan_for(
    router: Router, principal: Principal, primary: Target, model: str | None, body: dict[str, Any]
) -> FallbackPlan | None:
    """The primary's fallbacks the caller may use (None: it has none)."""
    if not primary.record.fallbacks:
        return None
    targets: list[tuple[str, str | None]] = []
    for provider_ref, fallback_model in primary.record.fallbacks:
        record = primary.record
        if provider_ref is not None:
            try:
                record = router.registry.lookup(principal, provider_ref)
            except GatewayError:
                log.warning("fallback provider %r of %s is not usable", provider_ref, record.name)
                continue
        wanted = fallback_model or model
        if record.id == primary.record.id and wanted == model:
            continue  # the primary itself
        targets.append((record.id, wanted))
    if not targets:
        return None
    return FallbackPlan(targets, copy.deepcopy(body))  # only requests with fallbacks copy
