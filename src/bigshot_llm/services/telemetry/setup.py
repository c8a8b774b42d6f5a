"""The app's tracer provider, exporter and instrumentation, built only when tracing is on.

The OpenTelemetry packages (the `otel` extra) are imported here lazily, so a gateway without
an OTLP endpoint neither needs nor loads them. The exporter reads the standard
``OTEL_EXPORTER_OTLP_*`` variables it knows (headers, timeout, compression, certificates),
the batch processor ``OTEL_BSP_*``, the resource ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES``, the sampler ``OTEL_TRACES_SAMPLER``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from bigshot_llm import __version__
from bigshot_llm.settings import Settings, SettingsError

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

    from bigshot_llm.services.providers.registry import ProviderRecord
    from bigshot_llm.services.telemetry.genai import GenerationTrace

SERVICE_NAME = "bigshot-llm"


class GenerationCall(TypedDict):
    """What a generation's span is made of (`GenerationTrace`'s arguments)."""

    operation: str
    record: ProviderRecord
    model: str
    body: dict[str, Any]
    streamed: bool
    endpoint: str


_MISSING = (
    "OpenTelemetry tracing is configured (OTEL_EXPORTER_OTLP_ENDPOINT) but its packages are "
    "not installed: pip install 'bigshot-llm[otel]'"
)


@dataclass(eq=False)
class Tracing:
    """The app's tracer provider and what instruments the app with it."""

    provider: TracerProvider
    capture_content: bool = False
    content_max_chars: int = 4096
    tracer: Tracer = field(init=False)

    def __post_init__(self) -> None:
        self.tracer = self.provider.get_tracer("bigshot_llm", __version__)

    def instrument_app(self, app: FastAPI) -> None:
        """The server span of every request (pure ASGI, outermost). No span per `send` or
        `receive`: a stream would get one per chunk."""
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, exclude_spans=["receive", "send"]
        )

    def wrap_transport(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """A provider client's transport, traced: a client span per upstream request, and
        the W3C `traceparent` of that span in the request's headers."""
        from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport

        return AsyncOpenTelemetryTransport(transport, tracer_provider=self.provider)

    def generation(self, **call: Unpack[GenerationCall]) -> GenerationTrace:
        """The span of one generation; its parent is the span current now (the request's)."""
        from bigshot_llm.services.telemetry.genai import GenerationTrace

        return GenerationTrace(self, **call)

    def shutdown(self) -> None:
        """Export what is still buffered, then stop the exporter."""
        self.provider.shutdown()


def build_tracing(settings: Settings) -> Tracing | None:
    """The app's tracing, or None when no OTLP endpoint is set (or the SDK is disabled)."""
    endpoint = settings.otlp_traces_endpoint
    if endpoint is None:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:  # pragma: no cover - the extra is part of `make install`
        raise SettingsError(_MISSING) from exc
    from bigshot_llm.services.telemetry.sampling import without_orphan_http_clients

    exporter = _exporter(settings, endpoint)
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    # The sampler OTEL_TRACES_SAMPLER names (the SDK's choice when given none) ...
    chosen = TracerProvider(shutdown_on_exit=False).sampler
    provider = TracerProvider(
        resource=resource,
        # ... minus root spans of outgoing HTTP calls no request made (health checks).
        sampler=without_orphan_http_clients(chosen),
        shutdown_on_exit=False,  # the lifespan shuts it down (and flushes)
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(
        provider,
        capture_content=settings.otel_capture_content,
        content_max_chars=settings.otel_content_max_chars,
    )


def _exporter(settings: Settings, endpoint: str) -> SpanExporter:
    if settings.otel_exporter_otlp_protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError as exc:
            raise SettingsError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc "
                "(pip install it), or use the default http/protobuf (port 4318)"
            ) from exc
        grpc_exporter: SpanExporter = GrpcExporter(endpoint=endpoint)
        return grpc_exporter
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:  # pragma: no cover - the extra is part of `make install`
        raise SettingsError(_MISSING) from exc
    return OTLPSpanExporter(endpoint=endpoint)
