"""What a relayed stream measured: time to the first token (of any kind) and to the first
answer token, rate, the answer, its reasoning and tool calls, and the usage (upstream's or
estimated).

The prompt's token estimate is computed only when it is needed (the upstream reported no
usage): counting the characters of a long conversation on every request would cost CPU for
nothing when the upstream counts tokens itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bigshot_llm.services.generation.events import (
    Part,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallAssembler,
    ToolCallDelta,
)
from bigshot_llm.services.generation.extract import ChatExtractor, Extractor, stop_string
from bigshot_llm.services.generation.shapes import estimate_tokens

# Above this many characters a chunk on average, chunks carry several tokens each.
CHARS_PER_TOKEN_CHUNK = 12


@dataclass(slots=True)
class StreamStats:
    extract: Extractor = field(default_factory=ChatExtractor)
    prompt_estimate: Callable[[], int] = field(default=lambda: 0)
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    first_answer_at: float | None = None
    finished_at: float | None = None
    chunks: int = 0
    text_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    tools: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    stop_sequence: str | None = None  # the stop string that ended it, if upstream said
    model: str | None = None

    def observe(self, data: dict[str, Any]) -> tuple[tuple[Part, ...], bool]:
        """Record one upstream chunk; returns its parts and whether they were repaired."""
        if self.model is None:
            self.model = data.get("model")
        usage = data.get("usage")
        if usage:
            self.usage = usage
        parts, repaired = self.extract.parts(data)
        choices = data.get("choices")
        if choices:
            reason = choices[0].get("finish_reason")
            if reason:
                self.finish_reason = reason
                self.stop_sequence = stop_string(choices[0])
                tail = self.extract.finish()  # the answer is over: nothing more to wait for
                if tail:
                    parts, repaired = parts + tail, True
        if parts:
            self._record(parts)
        return parts, repaired

    def flush(self) -> tuple[Part, ...]:
        """The parts held back until the stream ended (a `<think>` tag cut short)."""
        parts = self.extract.finish()
        if parts:
            self._record(parts)
        return parts

    def _record(self, parts: tuple[Part, ...]) -> None:
        now = time.perf_counter()
        if self.first_token_at is None:
            self.first_token_at = now
        self.chunks += 1
        for part in parts:
            if isinstance(part, ReasoningDelta):
                self.reasoning_parts.append(part.text)
                continue
            if self.first_answer_at is None:
                self.first_answer_at = now
            if isinstance(part, TextDelta):
                self.text_parts.append(part.text)
            elif isinstance(part, ToolCallDelta):
                self.tools.feed(part)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.tools.calls

    def final_usage(self) -> tuple[dict[str, Any], bool]:
        """Upstream's usage, or an estimate counting answer, reasoning and tool calls (then
        the flag says so)."""
        if self.usage and "completion_tokens" in self.usage:
            return self.usage, False
        completion = self._completion_estimate()
        reported = (self.usage or {}).get("prompt_tokens")
        prompt = reported if isinstance(reported, int) else self.prompt_estimate()
        return (
            {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            True,
        )

    def _completion_estimate(self) -> int:
        """Streaming servers send about one token a chunk (LM Studio, llama.cpp, OpenAI), so
        the chunk count is the estimate; only chunks that clearly carry several tokens each
        (more than `CHARS_PER_TOKEN_CHUNK` characters on average) are counted by characters.
        Reasoning and tool calls are generated tokens too."""
        if not self.chunks:
            return 0
        generated = (
            self.text + self.reasoning + "".join(c.name + c.arguments for c in self.tool_calls)
        )
        if len(generated) > self.chunks * CHARS_PER_TOKEN_CHUNK:
            return max(self.chunks, estimate_tokens(generated))
        return self.chunks

    def reasoning_tokens(self, estimated: bool) -> int | None:
        """Upstream's count (`completion_tokens_details.reasoning_tokens`), else an estimate
        when the whole usage is estimated, else unknown."""
        details = (self.usage or {}).get("completion_tokens_details")
        if isinstance(details, dict):
            reported = details.get("reasoning_tokens")
            if isinstance(reported, int) and not isinstance(reported, bool):
                return reported
        if estimated and self.reasoning_parts:
            return estimate_tokens(self.reasoning)
        return None

    def timings(self) -> dict[str, float | None]:
        end = self.finished_at or time.perf_counter()
        usage, _ = self.final_usage()
        gen_seconds = end - (self.first_token_at or self.started)
        tokens = usage.get("completion_tokens", 0)
        tps = tokens / gen_seconds if gen_seconds > 0 and tokens else None
        return {
            "ttft_ms": self._since_start(self.first_token_at),
            "time_to_answer_ms": self._since_start(self.first_answer_at),
            "duration_ms": round((end - self.started) * 1000, 1),
            "tokens_per_second": None if tps is None else round(tps, 1),
        }

    def _since_start(self, at: float | None) -> float | None:
        return None if at is None else round((at - self.started) * 1000, 1)

    def done_payload(self) -> dict[str, Any]:
        self.finished_at = self.finished_at or time.perf_counter()
        usage, estimated = self.final_usage()
        return {
            "finish_reason": self.finish_reason,
            "usage": usage,
            "usage_estimated": estimated,
            "reasoning_tokens": self.reasoning_tokens(estimated),
            "stats": self.timings(),
            "model": self.model,
        }
