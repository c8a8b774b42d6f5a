"""What a stream measured when the upstream reported no usage: the estimate's rules."""

from __future__ import annotations

from typing import Any

from bigshot_llm.services.generation import shapes
from bigshot_llm.services.generation.stats import StreamStats


def chunk(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def stats_of(*texts: str) -> StreamStats:
    stats = StreamStats(prompt_estimate=lambda: 10)
    for text in texts:
        stats.observe(chunk(text))
    return stats


def test_one_token_a_chunk_is_counted_by_chunks_not_characters() -> None:
    # LM Studio, llama.cpp and OpenAI stream a token per chunk; long tokens are common.
    usage, estimated = stats_of(*(["wonderful "] * 49)).final_usage()
    assert estimated and usage["completion_tokens"] == 49
    assert usage["prompt_tokens"] == 10 and usage["total_tokens"] == 59


def test_chunks_that_carry_many_tokens_fall_back_to_characters() -> None:
    long_chunk = "a reasonably long piece of text arriving in a single chunk " * 4
    usage, _ = stats_of(long_chunk, long_chunk).final_usage()
    assert usage["completion_tokens"] == shapes.estimate_tokens(long_chunk * 2)


def test_reported_usage_wins() -> None:
    stats = stats_of("a", "b")
    stats.observe({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
    usage, estimated = stats.final_usage()
    assert not estimated and usage["completion_tokens"] == 2
