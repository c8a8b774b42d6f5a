"""A chat body made fit for its upstream, the same on every surface (native, `/v1`, chat
streams, compare): images inlined and checked against the model's vision, `response_format`
translated, `reasoning_effort` mapped (see `images`, `structured`, `reasoning`).

The model's capabilities come from the detailed model list (cached), and only when the
request needs them (images or a reasoning effort), so plain requests cost nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bigshot_llm.errors import GatewayError, RequestValidationFailed
from bigshot_llm.services.generation.images import ImageFetcher
from bigshot_llm.services.generation.reasoning import map_effort
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.services.generation.structured import adapt_response_format

__all__ = ["has_images", "prepare_chat"]

# Kinds known to fetch remote image URLs themselves; every other upstream gets data URLs.
FETCHES_IMAGE_URLS = frozenset({"openai"})


def _image_urls(messages: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field, the `image_url` object) of every image part, normalising `"image_url": "…"`."""
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            holder = part.get("image_url")
            if isinstance(holder, str):
                holder = part["image_url"] = {"url": holder}
            if isinstance(holder, dict) and isinstance(holder.get("url"), str):
                yield f"messages.{i}.content.{j}.image_url.url", holder


def has_images(messages: Any) -> bool:
    return next(_image_urls(messages), None) is not None


async def _listed(router: Router, target: Target, model: str) -> dict[str, Any] | None:
    """The model's entry in the detailed (cached) list, None when unknown or unreachable."""
    try:
        listing = await router.models(target, detailed=True)
    except GatewayError:
        return None
    return next((m for m in listing.models if m.get("id") == model), None)


def no_vision(model: str, provider: str) -> RequestValidationFailed:
    reason = (
        f"model '{model}' on provider '{provider}' cannot read images (it has no vision); "
        "choose a vision model or send text only"
    )
    return RequestValidationFailed(
        reason,
        code="model_without_vision",
        details=[{"loc": ["body", "model"], "field": "model", "msg": reason}],
    )


async def prepare_chat(
    body: dict[str, Any],
    target: Target,
    model: str,
    *,
    router: Router,
    images: ImageFetcher | None,
    warnings: list[str],
) -> None:
    """Adapt `body` in place; warnings for the caller go into `warnings`."""
    kind = target.record.kind
    found = list(_image_urls(body.get("messages")))
    effort = body.get("reasoning_effort")
    info = None
    if found or isinstance(effort, str):
        info = await _listed(router, target, model)
    if found:
        if info is not None and info.get("vision") is False:
            raise no_vision(model, target.record.name)
        if kind not in FETCHES_IMAGE_URLS and images is not None:
            for field, holder in found:  # one at a time: the first bad one stops the rest
                holder["url"] = await images.inline(holder["url"], field)
    adapt_response_format(body, kind)
    if isinstance(effort, str):
        value, warning = map_effort(effort, kind, model, info)
        if value is None:
            body.pop("reasoning_effort", None)
        else:
            body["reasoning_effort"] = value
        if warning:
            warnings.append(warning)
