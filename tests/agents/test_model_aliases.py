"""Model aliases (`BIGSHOT_MODEL_ALIASES`): Claude Code's and Codex's model names reach a
local model on every surface, and `/v1/models` lists them."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest
from openai import OpenAI

from bigshot_llm.services.generation.aliases import ModelAliases
from bigshot_llm.settings import Settings, parse_aliases
from tests.agents.conftest import CHAT_MODEL, REASONING_MODEL

ALIASES = (
    f"gpt-5-codex=LMStudio Local/{REASONING_MODEL}, claude-sonnet-4-5={CHAT_MODEL},"
    f"claude-*={CHAT_MODEL}"
)


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    return {"model_aliases": ALIASES}


def test_anthropic_surface_resolves_exact_and_prefix_aliases(
    claude: anthropic.Anthropic, sim: Any
) -> None:
    for name in ("claude-sonnet-4-5", "claude-haiku-4-5-20251001"):
        message = claude.messages.create(
            model=name, max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.model == name  # the client's name, as Anthropic echoes it
        assert sim.state.last_request_body["model"] == CHAT_MODEL


def test_responses_and_chat_completions_resolve_aliases(codex: OpenAI, sim: Any) -> None:
    response = codex.responses.create(model="gpt-5-codex", input="What is 2+2?")
    assert response.model == "gpt-5-codex"
    assert sim.state.last_request_body["model"] == REASONING_MODEL
    assert [o.type for o in response.output] == ["reasoning", "message"]

    chat = codex.chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert chat.choices[0].message.content
    assert sim.state.last_request_body["model"] == CHAT_MODEL


def test_models_list_shows_exact_aliases(codex: OpenAI, http: httpx.Client) -> None:
    ids = [m.id for m in codex.models.list()]
    assert "gpt-5-codex" in ids and "claude-sonnet-4-5" in ids
    assert "claude-*" not in ids
    data = http.get("/v1/models").json()["data"]
    entry = next(m for m in data if m["id"] == "gpt-5-codex")
    assert entry["alias_for"] == f"LMStudio Local/{REASONING_MODEL}"


def test_native_api_resolves_aliases(http: httpx.Client, sim: Any) -> None:
    response = http.post(
        "/api/v1/llm-providers/chat/completions",
        json={"model": "claude-opus-4-1", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200, response.text
    assert sim.state.last_request_body["model"] == CHAT_MODEL


def test_alias_rules() -> None:
    aliases = ModelAliases.from_mapping(parse_aliases("a*=one,ab*=two,abc=three"))
    assert aliases.resolve("abc") == "three"
    assert aliases.resolve("abd") == "two"
    assert aliases.resolve("axe") == "one"
    assert aliases.resolve("other") == "other"
    assert aliases.resolve(None) is None


@pytest.mark.parametrize("bad", ["noequals", "=x", "a=", "a*b=c", "a=b*"])
def test_bad_alias_setting_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="alias entry"):
        Settings(_env_file=None, model_aliases=bad)  # type: ignore[call-arg]


def test_anthropic_sdk_lists_models(claude: anthropic.Anthropic) -> None:
    """With `anthropic-version` (every Anthropic client sends it) the list is Anthropic's."""
    page = claude.models.list()
    ids = [m.id for m in page.data]
    assert CHAT_MODEL in ids and "claude-sonnet-4-5" in ids
    assert all(m.type == "model" and m.created_at for m in page.data)
    assert page.has_more is False
