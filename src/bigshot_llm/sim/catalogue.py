"""The simulated model catalogue: :class:`ModelSpec` and the default downloaded models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    """The default catalogue: two LLMs (both call tools), one VLM, three reasoning models (one
    of each reasoning shape) and one embeddings model."""
    return [
        ModelSpec(
            key="qwen2.5-7b-instruct",
            type="llm",
            publisher="lmstudio-community",
            arch="qwen2",
            quantization="Q4_K_M",
            bits_per_weight=4.0,
            size_bytes=4_683_073_536,
            params_string="7B",
            max_context_length=32768,
            display_name="Qwen2.5 7B Instruct",
            trained_for_tool_use=True,
        ),
        ModelSpec(
            key="llama-3.2-1b-instruct",
            type="llm",
            publisher="lmstudio-community",
            arch="llama",
            quantization="Q8_0",
            bits_per_weight=8.0,
            size_bytes=1_321_083_136,
            params_string="1B",
            max_context_length=131072,
            display_name="Llama 3.2 1B Instruct",
            trained_for_tool_use=True,
        ),
        ModelSpec(
            key="gemma-3-4b-it",
            type="vlm",
            publisher="lmstudio-community",
            arch="gemma3",
            quantization="Q4_K_M",
            bits_per_weight=4.0,
            size_bytes=3_341_081_856,
            params_string="4B",
            max_context_length=131072,
            display_name="Gemma 3 4B Instruct",
        ),
        ModelSpec(
            key="qwen3-8b",
            type="llm",
            publisher="lmstudio-community",
            arch="qwen3",
            quantization="Q4_K_M",
            bits_per_weight=4.0,
            size_bytes=5_027_783_488,
            params_string="8B",
            max_context_length=40960,
            display_name="Qwen3 8B",
            trained_for_tool_use=True,
            reasoning="reasoning_content",
            reasoning_options=("off", "on"),
            reasoning_default="on",
        ),
        ModelSpec(
            key="gpt-oss-20b",
            type="llm",
            publisher="openai",
            arch="gpt-oss",
            quantization="MXFP4",
            bits_per_weight=4.25,
            size_bytes=12_109_565_632,
            params_string="20B",
            max_context_length=131072,
            display_name="gpt-oss 20B",
            trained_for_tool_use=True,
            reasoning="reasoning",
            reasoning_options=("low", "medium", "high"),
            reasoning_default="medium",
        ),
        ModelSpec(
            key="deepseek-r1-distill-qwen-7b",
            type="llm",
            publisher="lmstudio-community",
            arch="qwen2",
            quantization="Q4_K_M",
            bits_per_weight=4.0,
            size_bytes=4_683_073_536,
            params_string="7B",
            max_context_length=131072,
            display_name="DeepSeek R1 Distill Qwen 7B",
            reasoning="think_tags",
        ),
        ModelSpec(
            key="text-embedding-nomic-embed-text-v1.5",
            type="embeddings",
            publisher="nomic-ai",
            arch="nomic-bert",
            quantization="Q4_K_M",
            bits_per_weight=4.0,
            size_bytes=84_106_624,
            params_string="137M",
            max_context_length=2048,
            display_name="Nomic Embed Text v1.5",
        ),
    ]


DEFAULT_LOADED: tuple[str, ...] = ("qwen2.5-7b-instruct", "text-embedding-nomic-embed-text-v1.5")
