"""LM Studio: the OpenAI-compatible surface plus its native model listing and (un)loading.

Which native API a server speaks depends on its version (`/api/v1` from 0.4, `/api/v0` from
0.3.6, neither before), so listing probes them in order inside one time budget. A server that
cannot be reached ends the probe at once; only "this route is not here" moves on to the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from bigshot_llm.errors import (
    ContextLengthExceeded,
    GatewayError,
    ModelNotFound,
    NotFound,
    ProviderTimeout,
    ProviderUnavailable,
    UpstreamError,
)
from bigshot_llm.providers.base import ModelInfo, ModelType, ProviderSpec, StreamChunk
from bigshot_llm.providers.lmstudio_load import load_through_chat
from bigshot_llm.providers.openai import OpenAIProvider, list_budget
from bigshot_llm.providers.shapes import has_output

__all__ = ["LMStudioProvider", "is_silent_context_overflow", "models_from_v0", "models_from_v1"]

_SILENT_OVERFLOW_MESSAGE = (
    "the input does not fit in the model's loaded context length: LM Studio generated nothing "
    "(no token, not even an end token); shorten the input or load the model with a larger "
    "context length"
)


def is_silent_context_overflow(
    finish_reasons: list[str | None], usage: dict[str, Any] | None
) -> bool:
    """Whether an answer WITHOUT ANY OUTPUT is LM Studio's silent context overflow.

    LM Studio's llama.cpp engine can answer a prompt larger than the loaded context with HTTP
    200 and a well-formed answer (or stream) that has no content at all, a `finish_reason`,
    and usage that counts the prompt (bug tracker #2339). A model that chooses to say nothing
    is different: it still samples its end-of-sequence token, which llama.cpp counts in
    `completion_tokens`. So, given an answer with no text, reasoning or tool call:

    * usage reported: an overflow when `completion_tokens` is 0 and `prompt_tokens` is not
      (nothing at all was generated for a real prompt); `completion_tokens` ≥ 1 is a
      legitimate empty answer, also when it ends with "length" (hidden reasoning used the
      budget);
    * no usage: an overflow when the generation ended with "length", since with `max_tokens`
      ≥ 1 (both API surfaces enforce it) nothing else stops a generation at a limit before
      its first token; "stop" is a legitimate empty answer.
    """
    if usage:
        completion = usage.get("completion_tokens")
        prompt = usage.get("prompt_tokens")
        if isinstance(completion, int):
            return completion == 0 and isinstance(prompt, int) and prompt > 0
    return "length" in finish_reasons


class _NotSupported(Exception):
    """This LM Studio does not serve that native route (or serves something unusable)."""


class LMStudioProvider(OpenAIProvider):
    """LM Studio: `/v1` for inference, `/api/v1` and `/api/v0` for model management."""

    def __init__(self, spec: ProviderSpec, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(spec, client)
        native = f"{spec.base_url}/api"
        self._v1_models_url = httpx.URL(f"{native}/v1/models")
        self._v0_models_url = httpx.URL(f"{native}/v0/models")
        self._load_url = httpx.URL(f"{native}/v1/models/load")
        self._unload_url = httpx.URL(f"{native}/v1/models/unload")
        self._download_url = httpx.URL(f"{native}/v1/models/download")
        self._native_chat_url = httpx.URL(f"{native}/v1/chat")

    def _checked(self, answer: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if has_output(answer):
            return answer
        reasons = [c.get("finish_reason") for c in answer.get("choices") or ()]
        if is_silent_context_overflow(reasons, answer.get("usage")):
            raise ContextLengthExceeded(_SILENT_OVERFLOW_MESSAGE)
        return answer

    def empty_answer_error(self, chunks: list[StreamChunk]) -> GatewayError | None:
        reasons: list[str | None] = []
        usage: dict[str, Any] | None = None
        for chunk in chunks:
            reasons.extend(c.get("finish_reason") for c in chunk.data.get("choices") or ())
            usage = chunk.data.get("usage") or usage
        if is_silent_context_overflow(reasons, usage):
            return ContextLengthExceeded(_SILENT_OVERFLOW_MESSAGE)
        return None

    async def list_models(self, detailed: bool = False) -> list[ModelInfo]:
        async with list_budget(self.spec):
            if not detailed:
                return await self._list_openai()
            for url, parse in (
                (self._v1_models_url, models_from_v1),
                (self._v0_models_url, models_from_v0),
            ):
                try:
                    return parse(await self._probe(url))
                except _NotSupported:
                    continue
            return await self._list_openai()

    async def _probe(self, url: httpx.URL) -> dict[str, Any]:
        try:
            return await self._request_json("GET", url)
        except (ProviderUnavailable, ProviderTimeout):
            raise  # a dead host stays dead on the next route
        except (UpstreamError, NotFound) as exc:
            if exc.code == "upstream_auth_failed":
                raise
            raise _NotSupported from exc

    async def load_model(self, model: str, **opts: Any) -> dict[str, Any]:
        """Load `model` (a model key) via `/api/v1/models/load`; `opts` go into the body."""
        return await self._request_json("POST", self._load_url, {"model": model, **opts})

    def load_with_progress(
        self, model: str, context_length: int | None = None
    ) -> AsyncIterator[float]:
        """Load `model` through `/api/v1/chat`, yielding its load progress (0–1): the REST
        load reports none. Takes only `context_length` (`CHAT_LOAD_OPTIONS`)."""
        return load_through_chat(
            self._client, self._native_chat_url, self.spec, model, context_length
        )

    async def download_model(self, model: str, quantization: str | None = None) -> dict[str, Any]:
        """Start downloading `model` (`/api/v1/models/download`): LM Studio's job answer."""
        body: dict[str, Any] = {"model": model}
        if quantization:
            body["quantization"] = quantization
        return await self._request_json("POST", self._download_url, body)

    async def download_status(self, job_id: str) -> dict[str, Any]:
        """A download job's state (`/api/v1/models/download/status/{job_id}`)."""
        url = self._download_url.join(f"download/status/{quote(job_id, safe='')}")
        return await self._request_json("GET", url)

    async def unload_model(self, model_or_instance_id: str) -> dict[str, Any]:
        """Unload one instance, or every loaded instance of a model key.

        Returns ``{"instance_ids": [...]}`` (plus ``instance_id`` when exactly one went away).
        """
        listing = await self._request_json("GET", self._v1_models_url)
        models = listing.get("models")
        if not isinstance(models, list):
            raise UpstreamError(f"{self.spec.name} returned a model list without `models`")
        ids = _instance_ids(models, model_or_instance_id)
        if not ids:
            raise ModelNotFound(f"model {model_or_instance_id!r} is not loaded")
        for instance_id in ids:
            await self._request_json("POST", self._unload_url, {"instance_id": instance_id})
        result: dict[str, Any] = {"instance_ids": ids}
        if len(ids) == 1:
            result["instance_id"] = ids[0]
        return result


def _instance_ids(models: list[Any], wanted: str) -> list[str]:
    """Every loaded instance of model key `wanted`, else `[wanted]` if it is an instance id.

    The key wins: LM Studio names a model's first instance after its key (`key`, `key:2`, …).
    """
    by_key: list[str] = []
    all_ids: set[str] = set()
    for model in models:
        if not isinstance(model, dict):
            continue
        ids = [
            i["id"]
            for i in model.get("loaded_instances") or ()
            if isinstance(i, dict) and isinstance(i.get("id"), str)
        ]
        all_ids.update(ids)
        if model.get("key") == wanted:
            by_key.extend(ids)
    if by_key:
        return by_key
    return [wanted] if wanted in all_ids else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _model_type(raw: Any, vision: bool) -> ModelType:
    if raw in ("embedding", "embeddings"):
        return "embeddings"
    return "vlm" if raw == "vlm" or vision else "llm"


def _listed(payload: dict[str, Any], field: str, key: str) -> list[dict[str, Any]]:
    """The models of a listing: the objects with a string `key` in its `field` list (not a
    list: `_NotSupported`)."""
    items = payload.get(field)
    if not isinstance(items, list):
        raise _NotSupported
    return [item for item in items if isinstance(item, dict) and _str(item.get(key))]


def models_from_v1(payload: dict[str, Any]) -> list[ModelInfo]:
    """`GET /api/v1/models` (`{"models": [...]}`) → ModelInfo; unusable → `_NotSupported`."""
    out: list[ModelInfo] = []
    for item in _listed(payload, "models", "key"):
        caps = item.get("capabilities")
        vision: bool | None = None
        tool_use: bool | None = None
        if isinstance(caps, dict):
            vision = bool(caps.get("vision"))
            tool_use = bool(caps.get("trained_for_tool_use"))
        elif isinstance(caps, list):
            vision, tool_use = "vision" in caps, "tool_use" in caps
        elif item.get("type") == "llm":
            vision = tool_use = False  # capabilities are omitted when a model has none
        quant = item.get("quantization")
        instances = [i for i in item.get("loaded_instances") or () if isinstance(i, dict)]
        config = instances[0].get("config") if instances else None
        out.append(
            ModelInfo(
                id=item["key"],
                type=_model_type(item.get("type"), bool(vision)),
                arch=_str(item.get("architecture")),
                state="loaded" if instances else "not-loaded",
                max_context_length=_int(item.get("max_context_length")),
                quantization=_str(quant.get("name")) if isinstance(quant, dict) else _str(quant),
                publisher=_str(item.get("publisher")),
                loaded_context_length=(
                    _int(config.get("context_length")) if isinstance(config, dict) else None
                ),
                vision=vision,
                tool_use=tool_use,
                reasoning=_reasoning(caps),
                instances=[_instance(i) for i in instances if _str(i.get("id"))],
            )
        )
    return out


def _instance(raw: dict[str, Any]) -> dict[str, Any]:
    """A loaded instance: its id and its parallel predictions (None: not reported)."""
    config = raw.get("config")
    parallel = _int(config.get("parallel")) if isinstance(config, dict) else None
    return {"id": raw["id"], "parallel": parallel if parallel and parallel > 0 else None}


def _reasoning(caps: Any) -> dict[str, Any] | None:
    """`capabilities.reasoning` of `/api/v1/models`: its options and default."""
    reasoning = caps.get("reasoning") if isinstance(caps, dict) else None
    if not isinstance(reasoning, dict):
        return None
    options = reasoning.get("allowed_options")
    allowed = [o for o in options if isinstance(o, str)] if isinstance(options, list) else []
    default = reasoning.get("default")
    return {"allowed_options": allowed, "default": default if isinstance(default, str) else None}


def models_from_v0(payload: dict[str, Any]) -> list[ModelInfo]:
    """`GET /api/v0/models` (`{"data": [...]}`) → ModelInfo; unusable → `_NotSupported`."""
    out: list[ModelInfo] = []
    for item in _listed(payload, "data", "id"):
        state = item.get("state")
        kind = _model_type(item.get("type"), False)
        caps = item.get("capabilities")
        out.append(
            ModelInfo(
                id=item["id"],
                type=kind,
                arch=_str(item.get("arch")),
                state=state if state in ("loaded", "not-loaded") else None,
                max_context_length=_int(item.get("max_context_length")),
                quantization=_str(item.get("quantization")),
                publisher=_str(item.get("publisher")),
                loaded_context_length=_int(item.get("loaded_context_length")),
                # v0 tells vision by type (`vlm`) and lists `capabilities: ["tool_use"]`
                # (omitted when empty, 0.3.16+); it says nothing about reasoning.
                vision=None if kind == "embeddings" else kind == "vlm",
                tool_use=None if kind == "embeddings" else "tool_use" in (caps or ()),
            )
        )
    return out
