"""Error mapping, the pooled client's settings and transient retries (respx, no network)."""

from __future__ import annotations

import aiohttp
import httpx
import orjson
import pytest
import respx
from httpx_aiohttp import AiohttpTransport

from bigshot_llm import errors
from bigshot_llm.providers.http import (
    build_client,
    error_from_response,
    map_transport_error,
    send_with_retries,
)

from .conftest import SpecFactory

KEY = "sk-test-secret-key-x9Qa"


def err(status: int, body: object, make_spec: SpecFactory, **kw: object) -> errors.GatewayError:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return error_from_response(status, raw, make_spec(), **kw)  # type: ignore[arg-type]


def openai_error(message: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": code}}  # fmt: skip


@pytest.mark.parametrize("status", [400, 404, 409, 413, 422])
def test_client_errors_keep_status_and_message(status: int, make_spec: SpecFactory) -> None:
    exc = err(status, openai_error("bad temperature", param="temperature"), make_spec)
    assert type(exc) is errors.UpstreamRejected
    assert exc.status_code == status
    assert exc.message == "bad temperature"
    assert exc.param == "temperature"


@pytest.mark.parametrize("status", [400, 404])
def test_model_not_found(status: int, make_spec: SpecFactory) -> None:
    exc = err(status, openai_error("The model `x` does not exist.", "model_not_found"), make_spec)
    assert isinstance(exc, errors.ModelNotFound)
    assert exc.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        openai_error("Trying to keep the first 5000 tokens when context length is 4096"),
        openai_error("too long", code="context_length_exceeded"),
        {"error": "Input does not fit in context length"},
        b"The prompt does not fit in the context window",
    ],
)
def test_context_length(body: object, make_spec: SpecFactory) -> None:
    exc = err(400, body, make_spec)
    assert isinstance(exc, errors.ContextLengthExceeded)
    assert exc.status_code == 400


def test_bare_string_and_plain_text(make_spec: SpecFactory) -> None:
    assert err(400, {"error": "No models loaded. Please load"}, make_spec).message.startswith(
        "No models loaded"
    )
    exc = err(500, b"Internal meltdown", make_spec)
    assert type(exc) is errors.UpstreamError
    assert exc.status_code == 502
    assert exc.message == "Internal meltdown"


def test_rate_limited_keeps_retry_after(make_spec: SpecFactory) -> None:
    exc = err(429, openai_error("slow down"), make_spec, headers={"retry-after": "30"})
    assert isinstance(exc, errors.RateLimited)
    assert exc.status_code == 429
    assert exc.headers == {"Retry-After": "30"}


@pytest.mark.parametrize("status", [401, 403])
def test_upstream_auth_is_not_our_clients_fault(status: int, make_spec: SpecFactory) -> None:
    exc = err(status, openai_error(f"Incorrect API key provided: {KEY}"), make_spec)
    assert type(exc) is errors.UpstreamError
    assert (exc.status_code, exc.code) == (502, "upstream_auth_failed")
    assert KEY not in exc.message and KEY not in str(exc.details)


def test_key_scrubbed_from_relayed_messages(make_spec: SpecFactory) -> None:
    exc = err(400, openai_error(f"bad key {KEY} here"), make_spec)
    assert KEY not in exc.message
    assert "…x9Qa" in exc.message and "sk-" not in exc.message


def test_server_errors(make_spec: SpecFactory) -> None:
    assert isinstance(err(503, {"error": "busy"}, make_spec), errors.ProviderUnavailable)
    assert err(504, b"", make_spec).status_code == 504
    exc = err(500, openai_error("kaboom"), make_spec)
    assert (type(exc), exc.status_code, exc.message) == (errors.UpstreamError, 502, "kaboom")
    redirect = err(302, b"", make_spec)
    assert redirect.status_code == 502 and "redirect" in redirect.message


def test_200_with_error_quirks(make_spec: SpecFactory) -> None:
    exc = err(200, {"error": "Unexpected endpoint or method. (GET /api/v1/models)"}, make_spec)
    assert (type(exc), exc.status_code, exc.code) == (
        errors.UpstreamError,
        502,
        "bad_upstream_response",
    )
    assert "does not support" in exc.message
    exc = err(200, {"error": "No models loaded. Please load a model"}, make_spec)
    assert (type(exc), exc.status_code) == (errors.UpstreamRejected, 400)


def test_map_transport_errors(make_spec: SpecFactory) -> None:
    spec = make_spec()
    refused = map_transport_error(httpx.ConnectError("[Errno 111] Connection refused"), spec)
    assert isinstance(refused, errors.ProviderUnavailable)
    assert refused.status_code == 503
    assert spec.base_url in refused.message and "lms server start" in refused.message
    assert isinstance(map_transport_error(httpx.ConnectTimeout("t"), spec), errors.ProviderTimeout)
    assert map_transport_error(httpx.ReadTimeout("t"), spec).status_code == 504
    assert map_transport_error(httpx.PoolTimeout("t"), spec).status_code == 504
    for exc in (httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset")):
        mapped = map_transport_error(exc, spec)
        assert type(mapped) is errors.UpstreamError and "closed the connection" in mapped.message
    openai = map_transport_error(httpx.ConnectError("x"), make_spec(kind="openai"))
    assert "lms server start" not in openai.message


def _wrapped(httpx_type: type[httpx.HTTPError], cause: BaseException) -> httpx.HTTPError:
    """What httpx_aiohttp raises: its (coarse) httpx mapping, caused by aiohttp's error."""
    exc = httpx_type("wrapped")
    exc.__cause__ = cause
    return exc


def test_map_aiohttp_errors(make_spec: SpecFactory) -> None:
    spec = make_spec(transport="aiohttp")
    conn_key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(conn_key, ConnectionRefusedError(111, "refused"))
    # httpx_aiohttp turns "refused" into ConnectTimeout; we must still say "unavailable".
    mapped = map_transport_error(_wrapped(httpx.ConnectTimeout, refused), spec)
    assert isinstance(mapped, errors.ProviderUnavailable)
    mapped = map_transport_error(
        _wrapped(httpx.ConnectTimeout, aiohttp.ServerDisconnectedError()), spec
    )
    assert type(mapped) is errors.UpstreamError
    mapped = map_transport_error(_wrapped(httpx.ReadTimeout, aiohttp.SocketTimeoutError()), spec)
    assert isinstance(mapped, errors.ProviderTimeout)
    mapped = map_transport_error(
        _wrapped(httpx.ConnectTimeout, aiohttp.ConnectionTimeoutError()), spec
    )
    assert isinstance(mapped, errors.ProviderTimeout)
    # Raw aiohttp errors that slip through unmapped.
    assert type(map_transport_error(aiohttp.ClientPayloadError("x"), spec)) is errors.UpstreamError
    assert isinstance(map_transport_error(TimeoutError(), spec), errors.ProviderTimeout)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_build_client(transport: str, make_spec: SpecFactory) -> None:
    spec = make_spec(
        transport=transport, connect_timeout=3.0, read_timeout=60.0, extra_headers={"X-A": "1"}
    )
    client = build_client(spec)
    try:
        assert client.follow_redirects is False
        assert client.headers["authorization"] == f"Bearer {KEY}"
        assert client.headers["x-a"] == "1"
        assert client.timeout == httpx.Timeout(connect=3.0, read=60.0, write=30.0, pool=3.0)
        expected = AiohttpTransport if transport == "aiohttp" else httpx.AsyncHTTPTransport
        assert isinstance(client._transport, expected)
    finally:
        await client.aclose()
    no_key = build_client(make_spec(api_key=None))
    assert "authorization" not in no_key.headers
    await no_key.aclose()


# -- retries -------------------------------------------------------------------------------


async def _send(spec_factory: SpecFactory, **spec_kw: object) -> httpx.Response:
    spec = spec_factory(**spec_kw)
    async with build_client(spec) as client:
        request = client.build_request("POST", f"{spec.openai_base}/chat/completions", json={})
        response = await send_with_retries(client, request, spec)
        await response.aread()
        await response.aclose()
        return response


@respx.mock
async def test_retries_502_503_then_succeeds(make_spec: SpecFactory) -> None:
    route = respx.post("http://lms.test:1234/v1/chat/completions").mock(
        side_effect=[httpx.Response(502), httpx.Response(503), httpx.Response(200, json={})]
    )
    response = await _send(make_spec, retry_attempts=2)
    assert response.status_code == 200 and route.call_count == 3


@respx.mock
async def test_gives_up_after_retry_attempts(make_spec: SpecFactory) -> None:
    route = respx.post("http://lms.test:1234/v1/chat/completions").mock(
        return_value=httpx.Response(503, json={"error": "overloaded"})
    )
    with pytest.raises(errors.ProviderUnavailable, match="overloaded"):
        await _send(make_spec, retry_attempts=2)
    assert route.call_count == 3


@respx.mock
async def test_connect_errors_retried(make_spec: SpecFactory) -> None:
    route = respx.post("http://lms.test:1234/v1/chat/completions").mock(
        side_effect=httpx.ConnectError("refused")
    )
    with pytest.raises(errors.ProviderUnavailable):
        await _send(make_spec, retry_attempts=1)
    assert route.call_count == 2


@respx.mock
async def test_short_retry_after_429_retried_long_one_not(make_spec: SpecFactory) -> None:
    route = respx.post("http://lms.test:1234/v1/chat/completions").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.1"}),
            httpx.Response(429, headers={"Retry-After": "30"}),
        ]
    )
    with pytest.raises(errors.RateLimited) as info:
        await _send(make_spec, retry_attempts=3)
    assert route.call_count == 2
    assert info.value.headers == {"Retry-After": "30"}


@respx.mock
@pytest.mark.parametrize("status", [400, 401, 404, 500])
async def test_non_transient_not_retried(status: int, make_spec: SpecFactory) -> None:
    route = respx.post("http://lms.test:1234/v1/chat/completions").mock(
        return_value=httpx.Response(status, json={"error": "nope"})
    )
    with pytest.raises(errors.GatewayError):
        await _send(make_spec, retry_attempts=3)
    assert route.call_count == 1


@respx.mock
async def test_read_timeout_not_retried(make_spec: SpecFactory) -> None:
    route = respx.post("http://lms.test:1234/v1/chat/completions").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    with pytest.raises(errors.ProviderTimeout):
        await _send(make_spec, retry_attempts=3)
    assert route.call_count == 1
