"""OpenAI and every OpenAI-compatible server: bodies go through as OpenAI dicts.

Streams are relayed frame by frame as they arrive. The upstream response is always closed in
`finally`, so a consumer that stops early (or a cancelled task) really closes the socket and
the upstream stops generating instead of filling a pooled connection nobody reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from bigshot_llm.errors import ContextLengthExceeded, GatewayError, ProviderTimeout, UpstreamError
from bigshot_llm.providers.base import ModelInfo, ProviderSpec, StreamChunk
from bigshot_llm.providers.http import (
    TRANSPORT_ERRORS,
    build_client,
    decode_json,
    error_text,
    is_context_error,
    map_transport_error,
    send_with_retries,
    shown_upstream_text,
)
from bigshot_llm.sse import SSEDecoder

__all__ = ["OpenAIProvider", "list_budget"]

_DRAIN_SECONDS = 0.5
_JSON_HEADERS = {"Content-Type": "application/json"}
_SSE_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}


def encode_body(body: dict[str, Any]) -> bytes:
    """orjson, or the standard library for what orjson refuses (integers beyond 64 bits that a
    client passed through in a field the gateway does not interpret)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":")).encode()


class OpenAIProvider:
    """A `Provider` speaking OpenAI's `/v1` API; subclasses add native extras."""

    def __init__(self, spec: ProviderSpec, client: httpx.AsyncClient | None = None) -> None:
        self.spec = spec
        self._client = client if client is not None else build_client(spec)
        base = spec.openai_base
        # Parsed once: URL parsing is a measurable share of a request's CPU budget.
        self._models_url = httpx.URL(f"{base}/models")
        self._chat_url = httpx.URL(f"{base}/chat/completions")
        self._completions_url = httpx.URL(f"{base}/completions")
        self._embeddings_url = httpx.URL(f"{base}/embeddings")
        # Streams may sit idle for long stretches by design; bound the silence, not the total.
        self._stream_timeout = httpx.Timeout(
            connect=spec.connect_timeout,
            read=spec.stream_idle_timeout,
            write=30.0,
            pool=spec.connect_timeout,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- listing -------------------------------------------------------------------------

    async def list_models(self, detailed: bool = False) -> list[ModelInfo]:
        async with list_budget(self.spec):
            return await self._list_openai()

    async def _list_openai(self) -> list[ModelInfo]:
        payload = await self._request_json("GET", self._models_url)
        items = payload.get("data")
        if not isinstance(items, list):
            raise UpstreamError(f"{self.spec.name} returned a model list without `data`")
        return [
            ModelInfo(id=item["id"], type="embeddings" if "embed" in item["id"].lower() else "llm")
            for item in items
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        ]

    # -- one-shot calls ------------------------------------------------------------------

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request_json("POST", self._chat_url, body)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request_json("POST", self._completions_url, body)

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request_json("POST", self._embeddings_url, body)

    async def _request_json(
        self, method: str, url: httpx.URL | str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if body is None:
            request = self._client.build_request(method, url)
        else:
            request = self._client.build_request(
                method, url, content=encode_body(body), headers=_JSON_HEADERS
            )
        response = await send_with_retries(self._client, request, self.spec)
        try:
            raw = await response.aread()
        except TRANSPORT_ERRORS as exc:
            raise map_transport_error(exc, self.spec) from exc
        finally:
            # Also on cancellation: a half-read response is closed, never pooled.
            await response.aclose()
        return decode_json(raw, response.status_code, self.spec)

    # -- streams ---------------------------------------------------------------------------

    def stream_chat(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(self._chat_url, body)

    def stream_complete(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(self._completions_url, body)

    async def _stream(self, url: httpx.URL, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        spec = self.spec
        payload = body if body.get("stream") is True else {**body, "stream": True}
        request = self._client.build_request(
            "POST",
            url,
            content=encode_body(payload),
            headers=_SSE_HEADERS,
            timeout=self._stream_timeout,
        )
        # Errors here (non-2xx, refused, retries exhausted) surface before the first chunk.
        response = await send_with_retries(self._client, request, spec)
        decoder = SSEDecoder()
        finished = False
        pieces = response.aiter_bytes()
        try:
            async for piece in pieces:
                for event in decoder.feed(piece):
                    data = event.data
                    if data == "[DONE]":
                        await _drain(pieces)
                        return
                    if event.event == "error":
                        raise _stream_error(_loads_or_text(data), spec)
                    try:
                        parsed = orjson.loads(data)
                    except orjson.JSONDecodeError:
                        raise UpstreamError(
                            f"{spec.name} sent a malformed stream chunk (not JSON)"
                        ) from None
                    if not isinstance(parsed, dict):
                        raise UpstreamError(
                            f"{spec.name} sent a stream chunk that is not an object"
                        )
                    if "error" in parsed:
                        raise _stream_error(parsed, spec)
                    if not finished:
                        finished = _has_finish_reason(parsed)
                    yield StreamChunk(raw=data.encode(), data=parsed)
        except httpx.ReadTimeout as exc:
            raise ProviderTimeout(
                f"{spec.name} sent nothing for {spec.stream_idle_timeout:g}s in the middle of "
                "a stream"
            ) from exc
        except TRANSPORT_ERRORS as exc:
            raise map_transport_error(exc, spec) from exc
        finally:
            # Runs on aclose() and on cancellation too: the socket is closed rather than pooled
            # half-read, which is what makes the upstream stop generating.
            await response.aclose()
        if not finished:
            raise UpstreamError(f"{spec.name} ended the stream before it was complete")


async def _drain(pieces: AsyncIterator[bytes]) -> None:
    """Read what follows `[DONE]` (the body's last chunk marker) so the connection goes back
    to the pool instead of being closed; give up quickly if upstream keeps it open."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in pieces:
                pass


@asynccontextmanager
async def list_budget(spec: ProviderSpec) -> AsyncIterator[None]:
    """One total deadline for a model listing, however many endpoints it tries."""
    try:
        async with asyncio.timeout(spec.list_timeout):
            yield
    except TimeoutError:
        raise ProviderTimeout(
            f"listing models on {spec.name} took longer than {spec.list_timeout:g}s"
        ) from None


def _has_finish_reason(chunk: dict[str, Any]) -> bool:
    choices = chunk.get("choices")
    if not choices or not isinstance(choices, list):
        return False
    return any(isinstance(c, dict) and c.get("finish_reason") for c in choices)


def _loads_or_text(data: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data


def _stream_error(payload: Any, spec: ProviderSpec) -> GatewayError:
    """LM Studio reports mid-stream failures inside the 200: an `error` event or key."""
    raw, fields = error_text(payload)
    message = shown_upstream_text(raw, spec)
    context = is_context_error(f"{raw or ''} {fields.get('code') or ''}")
    if not spec.echo_upstream_errors:
        fields = {}
    if context:
        return ContextLengthExceeded(message or "the input does not fit in the context length")
    return UpstreamError(
        message or f"{spec.name} reported an error mid-stream", details=fields or None
    )
