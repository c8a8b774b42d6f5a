"""`reasoning_effort` mapped to a model's reasoning options, `json_object` rewritten."""

from __future__ import annotations

from typing import Any

import pytest

from bigshot_llm.services.generation.reasoning import effort_field, map_effort
from bigshot_llm.services.generation.structured import adapt_response_format

ON_OFF = {"id": "q", "vision": False, "reasoning": {"allowed_options": ["off", "on"]}}
LEVELS = {"id": "g", "vision": False, "reasoning": {"allowed_options": ["low", "medium", "high"]}}
PLAIN = {"id": "p", "vision": False, "reasoning": None}


@pytest.mark.parametrize(
    ("effort", "model", "sent"),
    [
        ("high", ON_OFF, "on"),
        ("none", ON_OFF, "off"),
        ("minimal", LEVELS, "low"),
        ("medium", LEVELS, "medium"),
        ("none", LEVELS, "low"),
    ],
)
def test_lm_studio_efforts_become_allowed_options(
    effort: str, model: dict[str, Any], sent: str
) -> None:
    assert map_effort(effort, "lmstudio", model["id"], model) == (sent, None)


def test_a_model_without_reasoning_drops_it_with_a_warning() -> None:
    value, warning = map_effort("high", "lmstudio", "p", PLAIN)
    assert value is None and warning is not None and "'p'" in warning


def test_unknown_models_and_other_kinds_get_it_unchanged() -> None:
    assert map_effort("high", "lmstudio", "x", None) == ("high", None)
    assert map_effort("high", "lmstudio", "x", {"id": "x", "vision": None}) == ("high", None)
    assert map_effort("minimal", "openai", "o", PLAIN) == ("minimal", None)


def test_each_lm_studio_api_spells_it_its_way() -> None:
    assert effort_field("low", "chat_completions") == {"reasoning_effort": "low"}
    assert effort_field("low", "native_chat") == {"reasoning": "low"}
    assert effort_field("low", "responses") == {"reasoning": {"effort": "low"}}


def test_json_object_becomes_an_object_schema_for_lm_studio_only() -> None:
    body: dict[str, Any] = {"response_format": {"type": "json_object"}}
    adapt_response_format(body, "openai")
    assert body == {"response_format": {"type": "json_object"}}
    adapt_response_format(body, "lmstudio")
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "json_object", "schema": {"type": "object"}},
    }
