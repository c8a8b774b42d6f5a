"""Fitting history into the context window, titles, and context lengths from model lists."""

from __future__ import annotations

import pytest

from bigshot_llm.errors import ContextLengthExceeded
from bigshot_llm.services.chat.context_window import Turn, context_length_of, fit_history
from bigshot_llm.services.chat.conversations import title_from


def turns(n: int, chars: int = 400) -> list[Turn]:
    """`n` exchanges of a user and an assistant message, then the new user message."""
    out = []
    for i in range(n):
        out.append(Turn("user", f"{i}" * chars))
        out.append(Turn("assistant", "a" * chars))
    out.append(Turn("user", "new question"))
    return out


def test_everything_fits_in_a_large_window() -> None:
    fit = fit_history("be brief", turns(3), context_length=32768, max_tokens=512)
    assert fit.dropped_messages == 0
    assert [m["role"] for m in fit.messages] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    # 3 x (2 x (100 + 4)) + (3 + 4) + system (2 + 4)
    assert fit.prompt_tokens_estimate == 624 + 7 + 6


def test_oldest_whole_turns_are_dropped_and_the_system_prompt_kept() -> None:
    # Each exchange costs 208 tokens; 1024 - 256 = 768 leave room for three exchanges.
    fit = fit_history("be brief", turns(5), context_length=1024, max_tokens=256)
    assert fit.dropped_messages == 4
    assert fit.messages[0] == {"role": "system", "content": "be brief"}
    assert fit.messages[1]["content"].startswith("2")
    assert fit.messages[-1] == {"role": "user", "content": "new question"}
    assert fit.prompt_tokens_estimate <= 1024 - 256
    assert fit.report() == {
        "dropped_messages": 4,
        "prompt_tokens_estimate": fit.prompt_tokens_estimate,
    }


def test_replies_of_a_dropped_question_go_with_it() -> None:
    history = [
        Turn("user", "x" * 600),
        Turn("assistant", "y" * 40),
        Turn("assistant", "z" * 40),
        Turn("user", "now"),
    ]
    fit = fit_history(None, history, context_length=256, max_tokens=100)
    assert fit.dropped_messages == 3
    assert fit.messages == [{"role": "user", "content": "now"}]


def test_reported_token_counts_win_over_estimates() -> None:
    history = [Turn("user", "hi"), Turn("assistant", "short", tokens=800), Turn("user", "and?")]
    fit = fit_history(None, history, context_length=1024, max_tokens=256)
    assert fit.dropped_messages == 2


def test_without_max_tokens_a_quarter_is_reserved_up_to_1024() -> None:
    fit = fit_history(None, turns(0), context_length=100_000, max_tokens=None)
    assert fit.dropped_messages == 0
    with pytest.raises(ContextLengthExceeded):
        fit_history(None, [Turn("user", "x" * 1400)], context_length=400, max_tokens=None)


def test_a_message_that_cannot_fit_is_refused() -> None:
    with pytest.raises(ContextLengthExceeded) as info:
        fit_history("sys", [Turn("user", "x" * 4000)], context_length=512, max_tokens=64)
    assert info.value.status_code == 400
    assert info.value.details["context_length"] == 512


def test_context_length_from_the_detailed_list() -> None:
    models = [
        {"id": "a", "max_context_length": 32768, "loaded_context_length": 4096},
        {"id": "b", "max_context_length": 8192, "loaded_context_length": None},
        {"id": "c"},
    ]
    assert context_length_of(models, "a") == 4096
    assert context_length_of(models, "b") == 8192
    assert context_length_of(models, "c") is None
    assert context_length_of(models, "missing") is None


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("Hello there", "Hello there"),
        ("  many\n\nlines   and\tspaces ", "many lines and spaces"),
        (
            "Explain how the resumable event streams of this gateway survive a reconnect please",
            "Explain how the resumable event streams of this gateway…",
        ),
        ("x" * 100, "x" * 59 + "…"),
    ],
)
def test_titles_are_short_and_cut_on_a_word(message: str, title: str) -> None:
    assert title_from(message) == title
    assert len(title_from(message)) <= 60
