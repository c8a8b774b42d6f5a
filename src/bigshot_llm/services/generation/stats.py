"""What a relayed stream measured: time to first token, rate, usage (upstream's or estimated).

The prompt's token estimate is computed only when it is needed (the upstream reported no
usage): counting the characters of a long conversation on every request would cost CPU for
nothing when the upstream counts tokens itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bigshot_llm.services.generation.shapes import estimate_tokens

TextOf = Callable[[dict[str, Any]], str]
# Above this many characters a chunk on average, chunks carry several tokens each.
CHARS_PER_TOKEN_CHUNK = 12


@dataclass(slots=True)
class StreamStats:
    text_of: TextOf
    prompt_estimate: Callable[[], int] = field(default=lambda: 0)
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    finished_at: float | None = None
    chunks: int = 0
    text_parts: list[str] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    model: str | None = None

    def observe(self, data: dict[str, Any]) -> str:
        """Record one upstream chunk; returns its text delta."""
        if self.model is None:
            self.model = data.get("model")
        usage = data.get("usage")
        if usage:
            self.usage = usage
        choices = data.get("choices")
        if choices:
            reason = choices[0].get("finish_reason")
            if reason:
                self.finish_reason = reason
        text = self.text_of(data)
        if text:
            if self.first_token_at is None:
                self.first_token_at = time.perf_counter()
            self.chunks += 1
            self.text_parts.append(text)
        return text

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def final_usage(self) -> tuple[dict[str, int], bool]:
        """Upstream's usage, or an estimate (then the flag says so)."""
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
        (more than `CHARS_PER_TOKEN_CHUNK` characters on average) are counted by characters."""
        if not self.chunks:
            return 0
        characters = sum(len(part) for part in self.text_parts)
        if characters > self.chunks * CHARS_PER_TOKEN_CHUNK:
            return max(self.chunks, estimate_tokens(self.text))
        return self.chunks

    def timings(self) -> dict[str, float | None]:
        end = self.finished_at or time.perf_counter()
        ttft = None if self.first_token_at is None else (self.first_token_at - self.started) * 1000
        usage, _ = self.final_usage()
        gen_seconds = end - (self.first_token_at or self.started)
        tokens = usage.get("completion_tokens", 0)
        tps = tokens / gen_seconds if gen_seconds > 0 and tokens else None
        return {
            "ttft_ms": None if ttft is None else round(ttft, 1),
            "duration_ms": round((end - self.started) * 1000, 1),
            "tokens_per_second": None if tps is None else round(tps, 1),
        }

    def done_payload(self) -> dict[str, Any]:
        self.finished_at = self.finished_at or time.perf_counter()
        usage, estimated = self.final_usage()
        return {
            "finish_reason": self.finish_reason,
            "usage": usage,
            "usage_estimated": estimated,
            "stats": self.timings(),
            "model": self.model,
        }
