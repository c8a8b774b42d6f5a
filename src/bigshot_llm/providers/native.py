"""Forwarding the Anthropic Messages and OpenAI Responses APIs to an upstream that speaks them.

LM Studio serves `/v1/responses` (0.3.29+) and `/v1/messages` (0.4.1+) itself; a gateway in
front of it then forwards the client's request (model replaced) and relays the answer as it
comes instead of translating both ways through chat completions. Whether a provider does is
its `native_apis` setting: `on`, `off`, or `auto`, where an LM Studio is asked once per API
(an empty `POST`: a server that has the route refuses the body with a 4xx; one that has not
answers 404, or LM Studio's HTTP 200 "Unexpected endpoint") and the answer is kept for the
provider's life. A probe that reaches nothing (refused, timed out, 5xx, 401) is not kept.
Other kinds default to off under `auto`: they are known to speak only chat completions.

Streams come back as `StreamChunk`s whose `raw` is the upstream's event, re-framed but not
re-encoded, and whose `data` is the same event read as a chat-completions chunk
(`native_relay`), so the pipeline measures and meters them like any other stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

import httpx
import orjson

from bigshot_llm.errors import GatewayError
from bigshot_llm.providers.exchange import exchange
from bigshot_llm.providers.http import (
    TRANSPORT_ERRORS,
    error_from_response,
    read_body,
)
from bigshot_llm.providers.native_relay import relay_native
from bigshot_llm.providers.stream_relay import relayed

if TYPE_CHECKING:
    from bigshot_llm.providers.admission import ConnectionSlots
    from bigshot_llm.providers.base import ProviderSpec, StreamChunk

__all__ = ["NativeApi", "NativeForwarding"]

NativeApi = Literal["messages", "responses"]
_PATHS: dict[str, str] = {"messages": "/messages", "responses": "/responses"}
_JSON_HEADERS = {"Content-Type": "application/json"}
_SSE_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}
_PROBE_SECONDS = 5.0


class NativeForwarding:
    """The native-API half of an OpenAI-compatible provider (mixed into `OpenAIProvider`)."""

    spec: ProviderSpec
    _client: httpx.AsyncClient
    _slots: ConnectionSlots
    _stream_timeout: httpx.Timeout
    _native: dict[str, bool]

    def _native_url(self, api: NativeApi) -> str:
        return f"{self.spec.openai_base}{_PATHS[api]}"

    async def speaks_native(self, api: NativeApi) -> bool:
        """Whether `api` requests are forwarded as they are (see the module docstring)."""
        mode = self.spec.native_apis
        if mode in ("on", "off"):
            return mode == "on"
        if self.spec.kind != "lmstudio":
            return False
        known = self._native.get(api)
        if known is None:
            probed = await self._probe_native(api)
            if probed is None:
                return False
            known = self._native[api] = probed
        return known

    async def _probe_native(self, api: NativeApi) -> bool | None:
        """True: the route exists; False: it does not; None: no telling now."""
        timeout = httpx.Timeout(_PROBE_SECONDS)
        request = self._client.build_request(
            "POST", self._native_url(api), content=b"{}", headers=_JSON_HEADERS, timeout=timeout
        )
        try:
            response = await self._client.send(request, stream=True)
            try:
                body = await read_body(response, 4096, self.spec, "a probe answer")
            finally:
                await response.aclose()
        except (*TRANSPORT_ERRORS, GatewayError):
            return None
        status = response.status_code
        if status in (404, 405, 501) or (
            200 <= status < 300 and b"unexpected endpoint" in body.lower()
        ):
            return False
        if status in (401, 403) or status >= 500:
            return None
        return True

    async def forward(self, api: NativeApi, body: bytes) -> tuple[bytes, dict[str, Any]]:
        """One non-streaming request: the upstream's answer as sent, and parsed."""
        spec = self.spec
        request = self._client.build_request(
            "POST", self._native_url(api), content=body, headers=_JSON_HEADERS
        )
        limit = spec.limits.max_body_bytes
        response, raw = await exchange(self._client, self._slots, request, spec, limit)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise error_from_response(502, raw, spec) from None
        if not isinstance(data, dict) or data.get("error") or data.get("type") == "error":
            raise error_from_response(response.status_code, raw, spec)
        return raw, data

    async def stream_native(self, api: NativeApi, body: bytes) -> AsyncIterator[StreamChunk]:
        """One streaming request, relayed event by event (closed however it ends)."""
        spec = self.spec
        request = self._client.build_request(
            "POST",
            self._native_url(api),
            content=body,
            headers=_SSE_HEADERS,
            timeout=self._stream_timeout,
        )
        async for chunk in relayed(
            self._client, self._slots, request, spec, lambda r: relay_native(r, spec, api)
        ):
            yield chunk
