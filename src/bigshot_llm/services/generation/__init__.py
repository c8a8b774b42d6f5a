"""Relaying a generation: routing, admission, the upstream call, metering and typed events.

Every surface (the native API, `/v1`, chat streams, compare, and the agent APIs to come)
calls `GenerationService` and keeps only its encoder.
"""

from __future__ import annotations

from bigshot_llm.services.generation.events import Chunk, Done, Event, Failed, TextDelta
from bigshot_llm.services.generation.routing import Route, Router, Target, qualified_id
from bigshot_llm.services.generation.service import (
    Answer,
    Generation,
    GenerationRequest,
    GenerationService,
)

__all__ = [
    "Answer",
    "Chunk",
    "Done",
    "Event",
    "Failed",
    "Generation",
    "GenerationRequest",
    "GenerationService",
    "Route",
    "Router",
    "Target",
    "TextDelta",
    "qualified_id",
]
