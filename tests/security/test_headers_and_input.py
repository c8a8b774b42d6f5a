"""Security headers, CORS, content types, and secrets kept out of every answer and log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from tests.conftest import ADMIN_KEY, auth, make_settings

ADMIN = auth(ADMIN_KEY)


async def test_security_headers_on_api_ui_and_errors(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/api/v1/me", "/api/v1/nope", "/"):
        response = await client.get(path, headers=ADMIN)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    docs = await client.get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/api/v1/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = await client.get("/api/v1/me", headers={**ADMIN, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allow_list(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, cors_origins="https://ui.example"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ok = await client.options(
                "/api/v1/me",
                headers={"Origin": "https://ui.example", "Access-Control-Request-Method": "GET"},
            )
            assert ok.headers["access-control-allow-origin"] == "https://ui.example"
            other = await client.options(
                "/api/v1/me",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
            )
            assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_non_json_bodies_are_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/api/v1/llm-providers/chat/completions",
        content=b'{"messages": []}',
        headers={**ADMIN, "Content-Type": content_type},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_deeply_nested_json_is_a_4xx(client: httpx.AsyncClient) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await client.post(
        "/api/v1/llm-providers/chat/completions",
        content=body,
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500


async def test_a_planted_upstream_secret_never_leaves(
    client: httpx.AsyncClient, sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-PLANTED-secret-value-0123456789"
    sim.state.require_api_key = "something-else"  # upstream rejects it, maybe echoing it
    created = await client.post(
        "/api/v1/llm-providers",
        json={"name": "s", "kind": "openai", "base_url": sim.url, "api_key": secret},
        headers=ADMIN,
    )
    provider_id = created.json()["data"]["id"]
    answers = [created]
    chat = {
        "provider": provider_id,
        "model": "qwen2.5-7b-instruct",
        "messages": [{"role": "user", "content": "x"}],
    }
    for method, path, body in [
        ("GET", "/api/v1/llm-providers", None),
        ("GET", f"/api/v1/llm-providers/{provider_id}", None),
        ("PATCH", f"/api/v1/llm-providers/{provider_id}", {"default_model": "m"}),
        ("POST", f"/api/v1/llm-providers/{provider_id}/test", None),
        ("POST", f"/api/v1/llm-providers/{provider_id}/activate", None),
        ("GET", "/api/v1/llm-providers/active", None),
        ("GET", f"/api/v1/llm-providers/models?provider={provider_id}", None),
        ("GET", "/api/v1/llm-providers/models/all", None),
        ("POST", "/api/v1/llm-providers/chat/completions", chat),
        ("POST", "/api/v1/llm-providers/chat/completions", {**chat, "stream": True}),
        ("GET", "/api/v1/audit", None),
    ]:
        answers.append(await client.request(method, path, json=body, headers=ADMIN))
    assert sim.state.last_request_headers.get("authorization") == f"Bearer {secret}"
    for answer in answers:
        assert secret not in answer.text, answer.request.url
        assert secret not in str(answer.headers)
    assert secret not in caplog.text


def test_secrets_rotate_re_encrypts_stored_keys(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "BIGSHOT_DATA_DIR": str(tmp_path / "data"),
        "BIGSHOT_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "LMSTUDIO_API_BASE": "http://127.0.0.1:9/v1",
        "LMSTUDIO_API_KEY": "sk-rotate-me-0123456789",
    }

    def cli(*args: str, secret: str, new: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bigshot_llm.cli", *args],
            env={**env, "BIGSHOT_SECRET_KEY": secret, "BIGSHOT_NEW_SECRET_KEY": new},
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    script = (
        "import asyncio\n"
        "from bigshot_llm.lifespan import build_core, prepare_core\n"
        "from bigshot_llm.settings import load_settings\n"
        "async def main():\n"
        "    s = build_core(load_settings())\n"
        "    await prepare_core(s)\n"
        "    print([r.api_key for r in s.registry.all_records()])\n"
        "    await s.engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    first = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "BIGSHOT_SECRET_KEY": "old"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert "sk-rotate-me-0123456789" in first.stdout, first.stderr
    rotated = cli("secrets", "rotate", secret="old", new="new")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 1 stored secrets" in rotated.stdout
    after = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "BIGSHOT_SECRET_KEY": "new"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert "sk-rotate-me-0123456789" in after.stdout, after.stderr
    wrong = cli("secrets", "rotate", secret="bogus", new="newer")
    assert wrong.returncode == 1 and "neither" in wrong.stderr


async def test_middleware_errors_use_the_v1_shape_on_v1(client: httpx.AsyncClient) -> None:
    wrong_type = await client.post(
        "/v1/chat/completions", content=b"x", headers={**ADMIN, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["type"] == "invalid_request_error"
    too_big = await client.post(
        "/v1/chat/completions",
        content=b"x" * 1_100_000,
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert "success" not in too_big.json() and too_big.json()["error"]["message"]


async def test_docs_come_from_the_gateway_itself(client: httpx.AsyncClient) -> None:
    """Swagger UI from the installed package, no CDN, no inline script: the API key the UI
    keeps in localStorage on this origin is out of reach of third-party scripts."""
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "https://" not in docs.text and "http://" not in docs.text
    assert "<script>" not in docs.text  # only <script src=...>
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "cdn" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    for asset, kind in (
        ("/docs/assets/swagger-ui-bundle.js", "javascript"),
        ("/docs/assets/swagger-ui.css", "css"),
        ("/docs/init.js", "javascript"),
    ):
        answer = await client.get(asset)
        assert answer.status_code == 200 and kind in answer.headers["content-type"], asset
    assert (await client.get("/docs/assets/index.html")).status_code == 404  # only what it uses
    assert (await client.get("/redoc")).status_code == 404  # ReDoc exists only on a CDN
