"""Serving the built UI: index at / and as the SPA fallback, immutable assets, API untouched."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bigshot_llm.api.errors import install_error_handlers
from bigshot_llm.web.static import IMMUTABLE, mount_ui

INDEX = '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>'


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("nope")
    return tmp_path


def tiny_app(directory: Path) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    mount_ui(app, directory)
    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui.test")


async def test_index_and_spa_fallback_are_revalidated(built: Path) -> None:
    async with client_for(tiny_app(built)) as c:
        for path in ("/", "/chat/123", "/settings"):
            r = await c.get(path, headers={"Accept": "text/html"})
            assert r.status_code == 200, path
            assert r.text == INDEX
            assert r.headers["content-type"].startswith("text/html")
            assert r.headers["cache-control"] == "no-cache"
        head = await c.head("/")
        assert head.status_code == 200


async def test_hashed_assets_are_cached_forever_and_missing_ones_404(built: Path) -> None:
    async with client_for(tiny_app(built)) as c:
        r = await c.get("/assets/index-abc123.js")
        assert r.status_code == 200
        assert r.headers["cache-control"] == IMMUTABLE
        assert "javascript" in r.headers["content-type"]
        missing = await c.get("/assets/index-old.js")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        icon = await c.get("/favicon.svg")
        assert icon.status_code == 200 and icon.text == "<svg/>"


async def test_paths_cannot_escape_the_static_folder(built: Path) -> None:
    async with client_for(tiny_app(built)) as c:
        for path in (
            "/assets/../../secret.txt",
            "/assets/%2e%2e/%2e%2e/secret.txt",
            "/../secret.txt",
        ):
            r = await c.get(path)
            assert "nope" not in r.text, path


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/v1/nothing", "/docs/x", "/openapi.json/x", "/health/x", "/api"]
)
async def test_api_paths_never_get_the_ui(built: Path, path: str) -> None:
    async with client_for(tiny_app(built)) as c:
        r = await c.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 404
        assert r.json()["success"] is False
        assert (await c.get("/api/v1/ping")).json() == {"pong": True}


async def test_other_methods_are_refused(built: Path) -> None:
    async with client_for(tiny_app(built)) as c:
        r = await c.post("/chat")
        assert r.status_code == 405


async def test_without_a_build_the_root_explains_how_to_build(tmp_path: Path) -> None:
    async with client_for(tiny_app(tmp_path / "missing")) as c:
        html = await c.get("/", headers={"Accept": "text/html"})
        assert html.status_code == 503
        assert "make run" in html.text
        as_json = await c.get("/")
        assert as_json.json()["error"]["code"] == "ui_not_built"
        assert "make run" in as_json.json()["error"]["message"]


async def test_the_real_app_keeps_its_api_errors(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = await client.get("/v1/no-such-thing")
    assert r.status_code == 404
    assert (await client.get("/health")).json()["success"] is True
