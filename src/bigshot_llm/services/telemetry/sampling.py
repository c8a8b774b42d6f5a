"""A sampler that keeps the configured one's decisions, except for orphan HTTP client spans.

The provider clients are instrumented, so background work (health checks, model-list
refreshes, pool probes) would start a one-span trace every few seconds. Those roots are
dropped; an upstream call made for a request is a child of its span and sampled as usual.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState, get_current_span
from opentelemetry.util.types import Attributes

_HTTP_METHOD = ("http.request.method", "http.method")


class _WithoutOrphanHTTPClients(Sampler):
    def __init__(self, inner: Sampler) -> None:
        self._inner = inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if (
            kind is SpanKind.CLIENT
            and attributes
            and any(key in attributes for key in _HTTP_METHOD)
            and not get_current_span(parent_context).get_span_context().is_valid
        ):
            return SamplingResult(Decision.DROP)
        return self._inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"WithoutOrphanHTTPClients{{{self._inner.get_description()}}}"


def without_orphan_http_clients(inner: Sampler) -> Sampler:
    return _WithoutOrphanHTTPClients(inner)
