"""The simulated model catalogue: :class:`ModelSpec` and the default downloaded models."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

ModelType = Literal["llm", "vlm", "embeddings"]
ReasoningStyle = Literal["none", "reasoning_content", "reasoning", "think_tags"]

DEFAULT_CONTEXT_LENGTH = 4096


@dataclass(frozen=True)
class ModelSpec:
    """One downloaded model of the simulated catalogue."""

    key: str
    type: ModelType
    publisher: str
    arch: str
    quantization: str
    bits_per_weight: float
    size_bytes: int
    params_string: str
    max_context_length: int
    display_name: str
    trained_for_tool_use: bool = False
    format: str = "gguf"
    # How the model thinks before answering: `delta.reasoning_content` (LM Studio's parser),
    # `delta.reasoning` (gpt-oss), or an inline `<think>` block in `content`.
    reasoning: ReasoningStyle = "none"
    reasoning_options: tuple[str, ...] = ()  # capabilities.reasoning.allowed_options
    reasoning_default: str | None = None

    @property
    def is_llm(self) -> bool:
        """True for chat-capable models (``llm`` and ``vlm``)."""
        return self.type in ("llm", "vlm")


def default_models() -> list[ModelSpec]:
    """The default catalogue (`catalogue.json`): two LLMs (both call tools), one VLM, three
    reasoning models (one of each reasoning shape) and one embeddings model."""
    entries: list[dict[str, Any]] = json.loads(
        resources.files(__package__).joinpath("catalogue.json").read_text()
    )
    for entry in entries:  # JSON has no tuples
        entry["reasoning_options"] = tuple(entry.get("reasoning_options", ()))
    return [ModelSpec(**entry) for entry in entries]


DEFAULT_LOADED: tuple[str, ...] = ("qwen2.5-7b-instruct", "text-embedding-nomic-embed-text-v1.5")
