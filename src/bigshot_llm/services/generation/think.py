"""Splitting an inline `<think>…</think>` block at the start of an answer into reasoning.

Some models (DeepSeek-R1 distills, Qwen3 without LM Studio's reasoning parser) write their
reasoning into `content`, wrapped in `<think>` tags. `ThinkSplitter` reads the content pieces
of a stream as they come and returns what is reasoning and what is answer, holding back only
as many characters as could still turn out to be a tag cut between two chunks. Only a block
at the very start (after blanks) counts: `<think>` later in an answer is the answer's text.
"""

from __future__ import annotations

OPEN = "<think>"
CLOSE = "</think>"


def _held_back(text: str, tag: str) -> int:
    """How many trailing characters of `text` could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkSplitter:
    """Incremental: `feed` each content piece, then `finish` once at the end."""

    __slots__ = ("_buffer", "_state")

    def __init__(self) -> None:
        # start: not sure yet whether the answer opens with <think>; inside: in the block;
        # gap: just after </think> (blanks there are dropped); answer: plain text from here.
        self._state = "start"
        self._buffer = ""

    @property
    def passthrough(self) -> bool:
        """Nothing is held back or split any more: content is answer text as it comes."""
        return self._state == "answer"

    def feed(self, piece: str) -> tuple[str, str]:
        """(reasoning, answer) text of this piece, as far as it can be told yet."""
        state = self._state
        if state == "answer":
            return "", piece
        text = self._buffer + piece
        self._buffer = ""
        if state == "start":
            stripped = text.lstrip()
            if not stripped or (len(stripped) < len(OPEN) and OPEN.startswith(stripped)):
                self._buffer = text  # blanks or a cut-off "<thi": wait for more
                return "", ""
            if not stripped.startswith(OPEN):
                self._state = "answer"
                return "", text
            self._state = state = "inside"
            text = stripped[len(OPEN) :]
        if state == "inside":
            end = text.find(CLOSE)
            if end < 0:
                keep = _held_back(text, CLOSE)
                if keep:
                    self._buffer = text[-keep:]
                    text = text[:-keep]
                return text, ""
            reasoning, text = text[:end], text[end + len(CLOSE) :]
            self._state = "gap"
            answer = self._after_gap(text)
            return reasoning, answer
        return "", self._after_gap(text)  # gap

    def _after_gap(self, text: str) -> str:
        answer = text.lstrip()
        if answer:
            self._state = "answer"
        return answer

    def finish(self) -> tuple[str, str]:
        """What was held back when the stream ends: an unclosed block is all reasoning."""
        text, self._buffer = self._buffer, ""
        if self._state == "inside":
            return text, ""
        if self._state == "start":
            self._state = "answer"
            return "", text
        return "", ""


def split_think(content: str) -> tuple[str, str]:
    """(reasoning, answer) of a whole answer (non-streaming)."""
    splitter = ThinkSplitter()
    reasoning, answer = splitter.feed(content)
    more_reasoning, more_answer = splitter.finish()
    return reasoning + more_reasoning, answer + more_answer
