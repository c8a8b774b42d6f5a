"""`reasoning_effort` (OpenAI's field) mapped to what the upstream model accepts.

OpenAI takes `reasoning_effort` as is. LM Studio lists each model's reasoning options
(`capabilities.reasoning.allowed_options` in `/api/v1/models`: `off`/`on`, or `low`/`medium`/
`high`, …): the requested effort becomes the closest allowed option, and a model with no
reasoning options gets nothing (the field is dropped and the caller warned, rather than
silently ignored upstream). On LM Studio's own APIs the same choice is spelled differently:
`reasoning` on `/api/v1/chat`, `reasoning.effort` on `/v1/responses`; `effort_field` names
the field for each.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["EFFORTS", "LMStudioApi", "effort_field", "map_effort"]

EFFORTS = ("none", "minimal", "low", "medium", "high")
# For each requested effort, the upstream options that express it, best first.
_CLOSEST: dict[str, tuple[str, ...]] = {
    "none": ("none", "off", "minimal", "low"),
    "off": ("off", "none", "minimal", "low"),
    "minimal": ("minimal", "low", "on"),
    "low": ("low", "on", "minimal", "medium"),
    "medium": ("medium", "on", "high", "low"),
    "high": ("high", "on", "medium"),
    "on": ("on", "medium", "high", "low"),
}
LMStudioApi = Literal["chat_completions", "native_chat", "responses"]


def reasoning_options(model: dict[str, Any] | None) -> list[str] | None:
    """A listed model's reasoning options; [] when it has none, None when unknown (a model
    whose capabilities were listed at all has a `vision` flag)."""
    if model is None:
        return None
    reasoning = model.get("reasoning")
    if isinstance(reasoning, dict):
        options = reasoning.get("allowed_options")
        if isinstance(options, list):
            return [o for o in options if isinstance(o, str)]
    return [] if model.get("vision") is not None else None


def map_effort(
    effort: str, kind: str, model_id: str, model: dict[str, Any] | None
) -> tuple[str | None, str | None]:
    """(the effort to send, or None to drop it; a warning for the caller, or None)."""
    if kind != "lmstudio":
        return effort, None
    options = reasoning_options(model)
    if options is None:  # not listed (or an old LM Studio): let the server decide
        return effort, None
    if not options:
        return None, f"model '{model_id}' has no reasoning options; reasoning_effort was ignored"
    for candidate in _CLOSEST.get(effort, (effort,)):
        if candidate in options:
            return candidate, None
    return None, (
        f"model '{model_id}' accepts reasoning {', '.join(options)}; "
        f"reasoning_effort '{effort}' was ignored"
    )


def effort_field(effort: str, api: LMStudioApi) -> dict[str, Any]:
    """The body field that carries a (mapped) effort on each LM Studio API."""
    if api == "native_chat":
        return {"reasoning": effort}
    if api == "responses":
        return {"reasoning": {"effort": effort}}
    return {"reasoning_effort": effort}
