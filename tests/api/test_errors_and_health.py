"""The one error model, body limits and the health probes."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_KEY, auth


async def test_unknown_route_is_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nope", headers=auth(ADMIN_KEY))
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": {"code": "not_found", "message": "no such endpoint"},
    }


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/llm-providers",
        content=b'{"name": "x", ',
        headers={**auth(ADMIN_KEY), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"name": "' + b"x" * (1_048_576 + 10) + b'"}'
    response = await client.post(
        "/api/v1/llm-providers",
        content=big,
        headers={**auth(ADMIN_KEY), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["data"]["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["data"]["database"] == "ok"


async def test_ready_is_503_when_the_database_is_gone(client: httpx.AsyncClient, app) -> None:
    await app.state.resources.engine.dispose()
    from bigshot_llm.db.engine import make_engine

    app.state.resources.engine = make_engine("sqlite+aiosqlite:////nonexistent/dir/x.db")
    response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_request_id_is_returned_and_accepted(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
