"""Deterministic fake generation: answer text, token counts, stream chunks and embeddings."""

from __future__ import annotations

import hashlib
import math
import random
import struct
import time
import uuid
from dataclasses import dataclass
from typing import Any

EMBEDDING_DIM = 768

_VOCAB: tuple[str, ...] = (
    "the", "model", "answer", "local", "server", "token", "stream", "quick", "light", "river",
    "signal", "garden", "window", "simple", "gateway", "context", "vector", "silent", "bright",
    "number", "paper", "cloud", "market", "engine", "forest", "stone", "yellow", "quiet",
    "music", "planet", "bridge", "candle", "harbor", "little", "memory", "orange", "pocket",
    "rocket", "summer", "thread", "violet", "winter", "crystal", "lantern", "meadow", "mirror",
    "puzzle", "shadow", "spiral", "velvet", "whisper", "anchor", "breeze", "copper", "dragon",
    "ember", "falcon", "glacier", "horizon", "island", "jasmine", "kernel", "lemon", "marble",
)  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """A generated answer: ``pieces`` concatenate to ``text``; one piece per token."""

    pieces: tuple[str, ...]
    finish_reason: str
    decoded: int | None = None  # tokens generated, when more than the pieces kept (a stop cut)
    stop_sequence: str | None = None  # the `stop` string that ended it, if one did

    @property
    def text(self) -> str:
        """The whole answer."""
        return "".join(self.pieces)

    @property
    def completion_tokens(self) -> int:
        """Number of generated tokens, as a real server counts them: the pieces, plus those a
        stop string cut away; an empty answer still decoded its end-of-sequence token (which
        llama.cpp counts), so it reports one."""
        return max(len(self.pieces) if self.decoded is None else self.decoded, 1)


def content_text(content: Any) -> str:
    """Text of an OpenAI message ``content`` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def chat_prompt_key(messages: list[dict[str, Any]]) -> str:
    """The text the answer is derived from: the last user message (else every message)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return "\n".join(content_text(m.get("content")) for m in messages)


def chat_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Deterministic prompt-token count: whitespace words of every content + 4 per message."""
    return sum(len(content_text(m.get("content")).split()) + 4 for m in messages)


def text_tokens(text: str) -> int:
    """Whitespace word count (at least 1 for non-empty text)."""
    return max(len(text.split()), 1 if text else 0)


def generate_pieces(key: str, seed: str, count: int) -> list[str]:
    """``count`` word tokens like ``"word "``, deterministic in ``key`` and ``seed``."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    pieces: list[str] = []
    capitalize = True
    for i in range(count):
        word = rng.choice(_VOCAB)
        if capitalize:
            word = word.capitalize()
        capitalize = (i % 8) == 7
        pieces.append(f"{word}. " if capitalize else f"{word} ")
    return pieces


def make_answer(key: str, seed: str, tokens: int, max_tokens: Any, stop: Any) -> Answer:
    """Generate an answer capped by ``max_tokens`` (``None``/``-1`` = no cap) and cut at the
    first ``stop`` string (a string or a list of strings)."""
    count = max(tokens, 0)
    finish = "stop"
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens >= 0:
        if max_tokens < count:
            count = max_tokens
            finish = "length"
    pieces = generate_pieces(key, seed, count)
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    stops = [s for s in stops if isinstance(s, str) and s]
    if stops:
        text = "".join(pieces)
        found = sorted((text.find(s), n, s) for n, s in enumerate(stops) if s in text)
        cut, matched = (found[0][0], found[0][2]) if found else (-1, None)
        if cut >= 0:
            kept: list[str] = []
            used = 0
            decoded = 0
            for piece in pieces:
                decoded += 1
                if used + len(piece) > cut:
                    if cut - used > 0:
                        kept.append(piece[: cut - used])
                    break
                kept.append(piece)
                used += len(piece)
            return Answer(tuple(kept), "stop", decoded, matched)
    return Answer(tuple(pieces), finish)


def completion_id(prefix: str) -> str:
    """An id like ``chatcmpl-…`` / ``cmpl-…``."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    """Unix time for ``created`` fields."""
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI ``usage`` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def choice(field: str, value: Any, finish: str | None, **extra: Any) -> dict[str, Any]:
    """The one choice of a body or chunk: ``field`` (``message``, ``delta`` or ``text``) holds
    ``value``; ``extra`` keys (vLLM's ``stop_reason``) follow ``finish_reason``."""
    return {"index": 0, field: value, "logprobs": None, "finish_reason": finish, **extra}


def completion_body(
    cid: str, obj: str, created: int, model: str, one: dict[str, Any], usage: dict[str, Any]
) -> dict[str, Any]:
    """A non-streaming body (``chat.completion`` or ``text_completion``) with ``one`` choice."""
    return {
        "id": cid,
        "object": obj,
        "created": created,
        "model": model,
        "choices": [one],
        "usage": usage,
        "system_fingerprint": model,
    }


def chunk_body(
    cid: str,
    obj: str,
    created: int,
    model: str,
    one: dict[str, Any] | None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A stream chunk with ``one`` choice, or (``one`` None) the closing usage chunk: no
    choices, the ``usage``."""
    body: dict[str, Any] = {
        "id": cid,
        "object": obj,
        "created": created,
        "model": model,
        "system_fingerprint": model,
        "choices": [] if one is None else [one],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def text_response(
    cid: str, created: int, model: str, answer: Answer, prompt_tokens: int
) -> dict[str, Any]:
    """Non-streaming ``text_completion`` body."""
    one = choice("text", answer.text, answer.finish_reason)
    tokens = usage(prompt_tokens, answer.completion_tokens)
    return completion_body(cid, "text_completion", created, model, one, tokens)


def text_chunks(
    cid: str,
    created: int,
    model: str,
    answer: Answer,
    prompt_tokens: int,
    include_usage: bool,
) -> list[tuple[dict[str, Any], bool]]:
    """Legacy completions stream chunks as ``(chunk, is_token)``."""

    def chunk(text: str, finish: str | None) -> dict[str, Any]:
        return chunk_body(cid, "text_completion", created, model, choice("text", text, finish))

    out: list[tuple[dict[str, Any], bool]] = [(chunk(p, None), True) for p in answer.pieces]
    out.append((chunk("", answer.finish_reason), False))
    if include_usage:
        tokens = usage(prompt_tokens, answer.completion_tokens)
        out.append((chunk_body(cid, "text_completion", created, model, None, tokens), False))
    return out


def embed(text: str) -> list[float]:
    """A deterministic unit-length vector of :data:`EMBEDDING_DIM` floats for ``text``."""
    raw = hashlib.shake_256(text.encode()).digest(EMBEDDING_DIM * 2)
    values = [v - 32767.5 for v in struct.unpack(f"<{EMBEDDING_DIM}H", raw)]
    norm = math.sqrt(math.fsum(v * v for v in values)) or 1.0
    return [v / norm for v in values]
