"""OpenTelemetry traces (README "Traces"): off unless an OTLP endpoint is set.

`build_tracing` returns None when tracing is off; then nothing of OpenTelemetry is imported,
no provider or middleware exists and the generation pipeline pays one `is None` check. When
on, the app owns its `TracerProvider` (never the process-global one), the FastAPI app and
the provider HTTP clients are instrumented with it, and every generation gets a GenAI span
(`genai.GenerationTrace`).
"""

from __future__ import annotations

from bigshot_llm.services.telemetry.setup import Tracing, build_tracing

__all__ = ["Tracing", "build_tracing"]
