"""OpenAI and every OpenAI-compatible server: bodies go through as OpenAI dicts.

Streams are relayed frame by frame as they arrive. The upstream response is always closed in
`finally`, so a consumer that stops early (or a cancelled task) really closes the socket and
the upstream stops generating instead of filling a pooled connection nobody reads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from bigshot_llm.errors import GatewayError, ProviderTimeout, UpstreamError
from bigshot_llm.providers.admission import ConnectionSlots
from bigshot_llm.providers.base import ModelInfo, ProviderSpec, StreamChunk
from bigshot_llm.providers.client import RequestTemplate
from bigshot_llm.providers.exchange import exchange
from bigshot_llm.providers.http import build_client, decode_json
from bigshot_llm.providers.native import NativeForwarding
from bigshot_llm.providers.shapes import check_answer, check_embeddings
from bigshot_llm.providers.stream_relay import relay_stream, relayed

__all__ = ["OpenAIProvider", "list_budget"]

_JSON_HEADERS = {"Content-Type": "application/json"}
_SSE_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}


def encode_body(body: dict[str, Any]) -> bytes:
    """orjson, or the standard library for what orjson refuses (integers beyond 64 bits that a
    client passed through in a field the gateway does not interpret)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":")).encode()


class OpenAIProvider(NativeForwarding):
    """A `Provider` speaking OpenAI's `/v1` API; subclasses add native extras."""

    def __init__(self, spec: ProviderSpec, client: httpx.AsyncClient | None = None) -> None:
        self.spec = spec
        self._client = client if client is not None else build_client(spec)
        self._slots = ConnectionSlots(spec)
        self._native: dict[str, bool] = {}  # native API → served (probed once)
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
        # Headers merged once per shape of request (see `RequestTemplate`).
        self._plain_requests = RequestTemplate(self._client)
        self._json_requests = RequestTemplate(self._client, _JSON_HEADERS)
        self._stream_requests = RequestTemplate(self._client, _SSE_HEADERS, self._stream_timeout)

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
        answer = await self._generate(self._chat_url, body)
        return self._checked(check_answer(answer, self.spec), body)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self._generate(self._completions_url, body)
        return self._checked(check_answer(answer, self.spec), body)

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self._generate(self._embeddings_url, body)
        return check_embeddings(answer, self.spec)

    def _checked(self, answer: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """A hook for kinds whose servers report some failures as ordinary answers."""
        return answer

    def empty_answer_error(self, chunks: list[StreamChunk]) -> GatewayError | None:
        """The error a stream without any output stands for; None: a legitimate empty answer."""
        return None

    async def _generate(self, url: httpx.URL, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request_json("POST", url, body, limit=self.spec.limits.max_body_bytes)

    async def _request_json(
        self,
        method: str,
        url: httpx.URL | str,
        body: dict[str, Any] | None = None,
        *,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """One JSON exchange; the answer may be at most `limit` bytes (default: the limit of a
        model list, which is what every management call answers)."""
        spec = self.spec
        if body is None:
            request = self._plain_requests.build(method, url)
        else:
            request = self._json_requests.build(method, url, encode_body(body))
        limit = spec.limits.max_list_body_bytes if limit is None else limit
        response, raw = await exchange(self._client, self._slots, request, spec, limit)
        return decode_json(raw, response.status_code, spec)

    # -- streams ---------------------------------------------------------------------------

    def stream_chat(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(self._chat_url, body)

    def stream_complete(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        return self._stream(self._completions_url, body)

    async def _stream(self, url: httpx.URL, body: dict[str, Any]) -> AsyncIterator[StreamChunk]:
        spec = self.spec
        payload = body if body.get("stream") is True else {**body, "stream": True}
        request = self._stream_requests.build("POST", url, encode_body(payload))
        async for chunk in relayed(
            self._client,
            self._slots,
            request,
            spec,
            lambda response: relay_stream(response, spec, self.empty_answer_error),
        ):
            yield chunk


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
