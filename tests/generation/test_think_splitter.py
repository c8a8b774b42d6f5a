"""The `<think>` splitter: every way a stream can cut the tags gives the same split."""

from __future__ import annotations

import pytest

from bigshot_llm.services.generation.think import ThinkSplitter, split_think

ANSWER = "<think>The user greets me. Be brief.</think>\n\nHello! How can I help?"


def feed_in_pieces(text: str, cuts: list[int]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    reasoning, answer = [], []
    bounds = [0, *cuts, len(text)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        thought, said = splitter.feed(text[start:end])
        reasoning.append(thought)
        answer.append(said)
    thought, said = splitter.finish()
    return "".join(reasoning) + thought, "".join(answer) + said


@pytest.mark.parametrize("cut", range(1, len(ANSWER)))
def test_one_cut_anywhere_splits_the_same(cut: int) -> None:
    assert feed_in_pieces(ANSWER, [cut]) == (
        "The user greets me. Be brief.",
        "Hello! How can I help?",
    )


def test_one_character_at_a_time() -> None:
    assert feed_in_pieces(ANSWER, list(range(1, len(ANSWER)))) == (
        "The user greets me. Be brief.",
        "Hello! How can I help?",
    )


def test_reasoning_streams_before_the_close_tag_arrives() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>Let me") == ("Let me", "")
    # A possible start of "</think>" is held back, nothing else.
    assert splitter.feed(" think</th") == (" think", "")
    assert splitter.feed("is is not it") == ("</this is not it", "")
    assert splitter.feed("</think>Yes") == ("", "Yes")
    assert splitter.passthrough
    assert splitter.feed(" <think>later tags are text</think>") == (
        "",
        " <think>later tags are text</think>",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello <think>x</think>", ("", "Hello <think>x</think>")),  # not at the start
        ("  \n<think>a</think>b", ("a", "b")),  # leading blanks before the tag
        ("<think>never closed", ("never closed", "")),  # cut off: all reasoning
        ("<thi", ("", "<thi")),  # a prefix of the tag that never became one
        ("<thinking>no</thinking>", ("", "<thinking>no</thinking>")),
        ("<think></think>Answer", ("", "Answer")),
        ("", ("", "")),
    ],
)
def test_whole_answers(text: str, expected: tuple[str, str]) -> None:
    assert split_think(text) == expected
