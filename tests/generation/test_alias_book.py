"""The stored-alias snapshot on its own: the caller's layer before the global one, exact
names before prefixes, the longest prefix first."""

from __future__ import annotations

from datetime import UTC, datetime

from bigshot_llm.services.providers.alias_book import AliasBook, AliasRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def record(name: str, owner: str | None, model: str) -> AliasRecord:
    return AliasRecord(f"{owner}:{name}", name, owner, "p1", model, NOW, NOW)


BOOK = AliasBook(
    [
        record("claude-*", None, "global-prefix"),
        record("claude-opus-*", None, "global-longer-prefix"),
        record("claude-sonnet-4-5", None, "global-exact"),
        record("default", None, "global-default"),
        record("default", "alice", "alice-default"),
        record("claude-*", "bob", "bob-prefix"),
    ]
)


def model_for(user: str | None, name: str | None) -> str | None:
    found = BOOK.match(user, name)
    return found.model if found else None


def test_exact_before_prefix_and_the_longest_prefix_first() -> None:
    assert model_for("carol", "claude-sonnet-4-5") == "global-exact"
    assert model_for("carol", "claude-opus-4-1") == "global-longer-prefix"
    assert model_for("carol", "claude-haiku-4-5") == "global-prefix"
    assert model_for("carol", "gpt-5") is None
    assert model_for("carol", None) is None and model_for("carol", "") is None


def test_the_callers_own_layer_wins_over_the_global_one() -> None:
    assert model_for("alice", "default") == "alice-default"
    assert model_for("carol", "default") == "global-default"
    # Bob's prefix catches even the names the global layer has exactly.
    assert model_for("bob", "claude-sonnet-4-5") == "bob-prefix"
    assert model_for(None, "default") == "global-default"


def test_visibility_and_lookup_by_id() -> None:
    assert {r.owner_id for r in BOOK.visible_to("alice")} == {None, "alice"}
    assert [r.name for r in BOOK.all()][:1] == ["claude-*"]  # global ones first, by name
    assert BOOK.get("alice:default") is not None and BOOK.get("nope") is None
