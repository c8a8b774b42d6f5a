"""The HTTP seam of every provider: one pooled client, error mapping, and transient retries.

Two functions turn everything the network can do into `bigshot_llm.errors`:
`map_transport_error` for exceptions (httpx's, and aiohttp's that the transport wraps or lets
through) and `error_from_response` for answers we cannot use. `send_with_retries` is the only
place that retries, and it does so before any body byte reaches a caller. `read_body` reads a
body up to a cap: an upstream's bytes are untrusted, so no read is unbounded.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from time import time
from types import SimpleNamespace
from typing import Any

import aiohttp
import httpx
import orjson
from aiohttp.client_proto import ResponseHandler

from bigshot_llm.errors import (
    ContextLengthExceeded,
    GatewayError,
    ModelNotFound,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    UpstreamError,
    UpstreamRejected,
)
from bigshot_llm.logging_setup import request_id_var
from bigshot_llm.providers.addresses import AddressPolicy, GuardedResolver, guarded_httpx_transport
from bigshot_llm.providers.base import ProviderSpec
from bigshot_llm.providers.client import AiohttpBodyTransport, UpstreamClient, body_pieces
from bigshot_llm.providers.urls import scrub_secret

# What a request can raise besides our own errors. aiohttp's come through when the transport's
# own mapping has no entry for them; OSError/TimeoutError cover the raw socket layer.
TRANSPORT_ERRORS = (httpx.RequestError, aiohttp.ClientError, OSError, TimeoutError)
# Reading a body can also raise aiohttp's bare RuntimeError("Connection closed.") (its stream
# reader, once broken chunked framing made it drop the connection). Only caught around reads,
# where no code of ours runs.
READ_ERRORS = (*TRANSPORT_ERRORS, RuntimeError)
_LMSTUDIO_HINT = (
    "is LM Studio's server running? Start it in the Developer tab or with `lms server start`"
)
_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "context window",
    "context size",  # LM Studio's MLX engine: "Context size has been exceeded"
    "context overflow",  # "Trying to keep the first N tokens when context overflows"
    "context the overflows",  # the same message in some LM Studio versions (sic)
    "does not fit",  # "Input does not fit in context length" (LM Studio, also in a 200)
)
_MAX_SHORT_RETRY_AFTER = 2.0


def build_client(spec: ProviderSpec) -> httpx.AsyncClient:
    """The one pooled client of a provider; redirects are never followed (SSRF)."""
    limits = httpx.Limits(
        max_connections=spec.max_connections,
        max_keepalive_connections=spec.max_keepalive_connections,
        keepalive_expiry=spec.keepalive_expiry,
    )
    timeout = httpx.Timeout(
        connect=spec.connect_timeout, read=spec.read_timeout, write=30.0, pool=spec.connect_timeout
    )
    headers = {"User-Agent": "bigshot-llm", **spec.extra_headers}
    if spec.api_key:
        headers["Authorization"] = f"Bearer {spec.api_key}"
    # Both transports get the limits explicitly: httpx ignores `limits=` once a transport is
    # given. An explicit transport also keeps env proxies away from a local server; the client's
    # trust_env=False keeps ~/.netrc credentials out of our requests.
    # With an address policy every connection resolves through the guard and connects only to
    # the addresses it checked (a DNS answer that changed since the URL was saved is refused).
    transport: httpx.AsyncBaseTransport
    policy = spec.address_policy
    if spec.transport == "aiohttp":
        # The aiohttp transport maps the request's timeouts onto aiohttp's: read → sock_read
        # (per read, like httpx), connect → sock_connect, pool → connect (acquire + connect).
        aiohttp_transport = AiohttpBodyTransport(limits=limits)
        # Our own session (built lazily, in the loop): the connector the transport would make,
        # plus a trace that tells `send_with_retries` whether a pooled connection was used,
        # and the resolver that checks every address again at connect time.
        aiohttp_transport.client = lambda: _aiohttp_session(aiohttp_transport, policy)
        transport = aiohttp_transport
    elif spec.transport == "httpx":
        if policy is None:
            transport = httpx.AsyncHTTPTransport(limits=limits)
        else:
            transport = guarded_httpx_transport(policy, limits)
    else:
        raise ValueError(f"unknown transport {spec.transport!r} (expected 'aiohttp' or 'httpx')")
    if spec.wrap_transport is not None:
        transport = spec.wrap_transport(transport)
    return UpstreamClient(
        transport=transport,
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        trust_env=False,
    )


# Set around one `client.send`: whether the connection it used had served a request before.
_REUSE_PROBE: contextvars.ContextVar[SimpleNamespace | None] = contextvars.ContextVar(
    "bigshot_reuse_probe", default=None
)


async def _on_reuse(*_: Any) -> None:
    probe = _REUSE_PROBE.get()
    if probe is not None:
        probe.reused = True


async def _on_httpcore_event(name: str, _info: Mapping[str, Any]) -> None:
    # httpcore reports its steps; a request that never connected rode a pooled connection.
    probe = _REUSE_PROBE.get()
    if probe is not None and name.startswith("connection.connect_tcp"):
        probe.reused = False


class _ResponseHandler(ResponseHandler):
    """aiohttp's connection protocol, plus: a body still being read when the connection goes
    away ends with an error, and a request on a connection that served one before says so.

    aiohttp (3.14) drops a connection whose chunked framing it cannot parse (a bad chunk size,
    a chunk without its CRLF) without telling the body's reader, and drops the read timeout
    too: a reader already waiting then waits forever, and one that reads later gets a bare
    `RuntimeError("Connection closed.")`. Waking the reader with a `ClientPayloadError` makes
    both an ordinary transport error.

    aiohttp sets the response parameters once per request, before it writes the request: a
    second call is a pooled connection being reused. This replaces a `TraceConfig` hook, whose
    trace objects and signals cost every request several coroutines.
    """

    _requests = 0

    def set_response_params(self, *args: Any, **kwargs: Any) -> None:
        if self._requests:
            probe = _REUSE_PROBE.get()
            if probe is not None:
                probe.reused = True
        self._requests += 1
        super().set_response_params(*args, **kwargs)

    def connection_lost(self, exc: BaseException | None) -> None:
        payload = self._payload
        super().connection_lost(exc)
        if payload is not None and not payload.is_eof() and payload.exception() is None:
            payload.set_exception(
                aiohttp.ClientPayloadError("the connection closed before the body was complete")
            )


def _aiohttp_session(
    transport: AiohttpBodyTransport, policy: AddressPolicy | None = None
) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        keepalive_timeout=transport.limits.keepalive_expiry,
        ssl=transport.ssl_context,
        limit=transport.limits.max_connections or 0,
        resolver=GuardedResolver(policy) if policy is not None else None,
    )
    if hasattr(connector, "_factory"):  # the protocol factory (private, stable since 3.0)
        factory: Any = functools.partial(_ResponseHandler, loop=asyncio.get_running_loop())
        connector._factory = factory
        traces: list[aiohttp.TraceConfig] = []  # our protocol reports reuse itself
    else:
        trace = aiohttp.TraceConfig()
        trace.on_connection_reuseconn.append(_on_reuse)
        traces = [trace]
    # No cookie jar: the gateway never keeps an upstream's cookies (see `UpstreamClient`).
    return aiohttp.ClientSession(
        connector=connector, trace_configs=traces, cookie_jar=aiohttp.DummyCookieJar()
    )


def map_transport_error(exc: BaseException, spec: ProviderSpec) -> GatewayError:
    """The gateway error for a failed exchange with the provider."""
    if isinstance(exc, GatewayError):
        return exc
    # httpx_aiohttp maps every aiohttp connection error to ConnectTimeout (even "refused"), so
    # classify by the original aiohttp exception when there is one.
    cause: BaseException = exc
    if isinstance(exc, httpx.HTTPError) and isinstance(exc.__cause__, aiohttp.ClientError):
        cause = exc.__cause__
    where = f"{spec.name} at {spec.base_url}"
    if not spec.echo_upstream_errors:
        return _generic_transport_error(cause, spec, where)
    # Order matters: aiohttp's timeouts subclass its connection errors.
    if isinstance(cause, httpx.ConnectTimeout | aiohttp.ConnectionTimeoutError):
        return ProviderTimeout(f"timed out connecting to {where} after {spec.connect_timeout:g}s")
    if isinstance(cause, httpx.PoolTimeout):
        return ProviderTimeout(f"no free connection to {where} within {spec.connect_timeout:g}s")
    if isinstance(cause, httpx.TimeoutException | aiohttp.ServerTimeoutError | TimeoutError):
        return ProviderTimeout(f"{where} did not answer within {spec.read_timeout:g}s")
    if isinstance(
        cause, httpx.ConnectError | aiohttp.ClientConnectorError | ConnectionRefusedError
    ):
        hint = _LMSTUDIO_HINT if spec.kind == "lmstudio" else "is the server running and reachable?"
        reason = scrub_secret(str(cause), spec.api_key) or type(cause).__name__
        return ProviderUnavailable(
            f"cannot connect to {where} ({reason}); {hint}", details={"base_url": spec.base_url}
        )
    if isinstance(cause, httpx.UnsupportedProtocol | httpx.InvalidURL | aiohttp.InvalidURL):
        return UpstreamError(f"the base URL of {spec.name} is not usable: {spec.base_url}")
    if isinstance(
        cause,
        httpx.TransportError
        | aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | aiohttp.ClientOSError
        | ConnectionError
        | RuntimeError,
    ):
        return UpstreamError(f"upstream closed the connection unexpectedly ({where})")
    return UpstreamError(f"error talking to {where}: {type(cause).__name__}")


def _generic_transport_error(cause: BaseException, spec: ProviderSpec, where: str) -> GatewayError:
    """A user's own provider: the same words whatever the socket said (refused, reset, closed,
    not HTTP), so the gateway cannot be used to tell open ports from closed ones; timeouts
    stay timeouts (they took the time anyway)."""
    if isinstance(cause, httpx.TimeoutException | aiohttp.ServerTimeoutError | TimeoutError):
        return ProviderTimeout(f"{where} did not answer in time")
    return ProviderUnavailable(
        f"no usable answer from {where}; is the server running and reachable?",
        details={"base_url": spec.base_url},
    )


def is_context_error(text: str) -> bool:
    """LM Studio's context-overflow wording changed across versions; match the stable bits."""
    lowered = text.lower()
    return any(word in lowered for word in _CONTEXT_WORDS)


def shown_upstream_text(message: str | None, spec: ProviderSpec) -> str | None:
    """Upstream's own words, if this provider may show them (secrets scrubbed)."""
    if not message or not spec.echo_upstream_errors:
        return None
    return scrub_secret(message, spec.api_key)


def error_text(payload: Any) -> tuple[str | None, dict[str, Any]]:
    """(message, {code,type,param}) from any error shape: nested object, bare string, text."""
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict):
            fields = {k: err.get(k) for k in ("code", "type", "param") if err.get(k) is not None}
            msg = err.get("message") or payload.get("message")
            return (str(msg) if msg else None), fields
        if isinstance(err, str) and err:
            return err, {}
        for key in ("message", "detail"):
            if isinstance(payload.get(key), str):
                return payload[key], {}
        return None, {}
    if isinstance(payload, str):
        return payload.strip()[:1000] or None, {}
    return None, {}


def _parse_body(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")


def error_from_response(
    status: int, body: bytes, spec: ProviderSpec, *, headers: Mapping[str, str] | None = None
) -> GatewayError:
    """The gateway error for an upstream answer: a non-2xx, or a 2xx carrying `error`.

    For a provider with `echo_upstream_errors` off (a user's own) the upstream's text is used
    to classify the error but never shown: the message is ours, the details only the status.
    """
    message, fields = error_text(_parse_body(body))
    message = scrub_secret(message, spec.api_key) if message else None
    code = fields.get("code")
    text = f"{message or ''} {code or ''}"
    upstream: dict[str, Any] = {"upstream_status": status, **fields}
    if not spec.echo_upstream_errors:
        message, upstream = None, {"upstream_status": status}
        fields = {k: v for k, v in fields.items() if k == "param" and isinstance(v, str)}
    if status in (401, 403):
        # Relaying a 401 would make our client believe its own gateway key is wrong.
        return UpstreamError(
            f"the provider rejected its configured API key (HTTP {status} from {spec.name})",
            code="upstream_auth_failed",
            details={"upstream_status": status},
        )
    if status == 429:
        retry_after = headers.get("retry-after") if headers else None
        return RateLimited(
            message or f"{spec.name} is rate limiting requests",
            headers={"Retry-After": retry_after} if retry_after else None,
            details=upstream,
        )
    if 200 <= status < 300:
        if "unexpected endpoint" in text.lower():
            return UpstreamError(
                f"{spec.name} does not support this endpoint ({message or 'unexpected endpoint'})",
                details=upstream,
            )
        if "no models loaded" in text.lower():
            return UpstreamRejected(message or f"{spec.name} has no model loaded", details=upstream)
    if (200 <= status < 300 or 400 <= status < 500) and is_context_error(text):
        return ContextLengthExceeded(message or "the input does not fit in the context length")
    if 400 <= status < 500 and code == "model_not_found":  # `code` read before any hiding
        return ModelNotFound(message or "model not found", param=fields.get("param"))
    if status in (400, 404, 409, 413, 422):
        return UpstreamRejected(
            message or f"{spec.name} rejected the request (HTTP {status})",
            status_code=status,
            param=fields.get("param"),
            details=upstream,
        )
    if status == 503:
        return ProviderUnavailable(message or f"{spec.name} is unavailable", details=upstream)
    if status in (504, 408):
        return ProviderTimeout(message or f"{spec.name} timed out", details=upstream)
    if 300 <= status < 400:
        return UpstreamError(
            f"{spec.name} answered with a redirect (HTTP {status}), which is never followed; "
            "check the base URL",
            details=upstream,
        )
    return UpstreamError(
        message or f"{spec.name} answered HTTP {status} without a usable body", details=upstream
    )


def decode_json(raw: bytes, status: int, spec: ProviderSpec) -> dict[str, Any]:
    """A 2xx body as a dict; an `error` key or a malformed body is an upstream failure."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"{spec.name} returned a body that is not valid JSON") from None
    if not isinstance(data, dict):
        raise UpstreamError(f"{spec.name} returned JSON that is not an object")
    if "error" in data:
        raise error_from_response(status, raw, spec)
    return data


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time())
        except (TypeError, ValueError):
            return None


def _backoff(attempt: int) -> float:
    # Jitter spreads out clients that all failed at the same moment.
    return 0.05 * (1 << attempt) + random.random() * 0.05


def _transient_delay(status: int, headers: Mapping[str, str], attempt: int) -> float | None:
    """Seconds to wait before retrying this answer, or None when it is not worth a retry."""
    if status not in (429, 502, 503):
        return None
    backoff = _backoff(attempt)
    retry_after = _retry_after(headers)
    if retry_after is None:
        return None if status == 429 else backoff
    if retry_after > _MAX_SHORT_RETRY_AFTER:
        return None
    return max(backoff, retry_after)


def _is_connect_error(exc: BaseException) -> bool:
    if isinstance(exc, httpx.ConnectError):
        return True
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(
        cause, aiohttp.ConnectionTimeoutError
    )


def _is_dropped_connection(exc: BaseException) -> bool:
    """The peer closed or reset the connection (not a timeout, not a refused connect)."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientError):
        # httpx_aiohttp maps aiohttp's errors loosely (a disconnect becomes ConnectTimeout).
        if isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ServerTimeoutError):
            return False
        return isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return True
    return isinstance(exc, ConnectionError)


async def read_body(response: httpx.Response, limit: int, spec: ProviderSpec, what: str) -> bytes:
    """The body, read piece by piece up to `limit` bytes; past it an `UpstreamError` (the
    caller closes the response, which closes the connection instead of pooling it)."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(spec, what, limit, f"declared {int(declared)} bytes")
    parts: list[bytes] = []
    size = 0
    try:
        async for piece in body_pieces(response):
            size += len(piece)
            if size > limit:
                raise _too_large(spec, what, limit, "the body went past it")
            parts.append(piece)
    except READ_ERRORS as exc:
        raise map_transport_error(exc, spec) from exc
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _too_large(spec: ProviderSpec, what: str, limit: int, how: str) -> UpstreamError:
    return UpstreamError(
        f"{spec.name} sent {what} larger than the gateway accepts ({limit} bytes; {how}); "
        "the connection was closed",
        details={"limit_bytes": limit},
    )


async def send_with_retries(
    client: httpx.AsyncClient, request: httpx.Request, spec: ProviderSpec
) -> httpx.Response:
    """Send `request`; return the 2xx response with its body unread. The caller closes it.

    Connection failures and 502/503/short-Retry-After 429 are retried `spec.retry_attempts`
    times with jittered exponential backoff; everything else raises a mapped error.

    A pooled keep-alive connection that the upstream had already closed fails before any
    response byte: that request never reached a model, so it is sent again at once, whatever
    `retry_attempts` says, for as long as the failures are on reused connections (each one
    removes a dead connection from the pool; a fresh connection ends the run).
    """
    request_id = request_id_var.get()
    if request_id:  # correlates our logs with upstream's
        request.headers["X-Request-ID"] = request_id
    if spec.transport == "httpx":
        request.extensions["trace"] = _on_httpcore_event
    attempt = 0
    stale_left = spec.max_keepalive_connections + 1
    while True:
        probe = SimpleNamespace(reused=spec.transport == "httpx")
        token = _REUSE_PROBE.set(probe)
        try:
            response = await client.send(request, stream=True)
        except TRANSPORT_ERRORS as exc:
            if probe.reused and stale_left > 0 and _is_dropped_connection(exc):
                stale_left -= 1
                continue
            if attempt < spec.retry_attempts and _is_connect_error(exc):
                await asyncio.sleep(_backoff(attempt))
                attempt += 1
                continue
            raise map_transport_error(exc, spec) from exc
        finally:
            _REUSE_PROBE.reset(token)
        if response.is_success:
            return response
        try:
            body = await read_body(
                response,
                spec.limits.max_error_body_bytes,
                spec,
                f"an HTTP {response.status_code} body",
            )
        finally:
            await response.aclose()
        delay = _transient_delay(response.status_code, response.headers, attempt)
        if delay is not None and attempt < spec.retry_attempts:
            await asyncio.sleep(delay)
            attempt += 1
            continue
        raise error_from_response(response.status_code, body, spec, headers=response.headers)
