"""The single-page UI: ``index.html`` at ``/`` and as the fallback, hashed ``/assets/*`` forever.

Mounted at ``/`` after every API router, so it only sees requests no route claimed. API paths
that reach it (an unknown ``/api/...`` endpoint, say) raise the ordinary 404 so the app's error
handlers answer in the API's own shape; the UI never masks an API mistake with HTML.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

#: Paths that belong to the API or the docs: never answered with the UI.
API_PREFIXES = ("/api/", "/v1/", "/docs", "/redoc", "/openapi.json", "/health", "/ready")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
ROOT_FILES = "public, max-age=3600"

NOT_BUILT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bigshot-llm</title></head>
<body><h1>bigshot-llm</h1>
<p>The web UI is not built. Run <code>make run</code> (it builds the UI with npm), or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>
<p>The API works meanwhile: <a href="/docs">/docs</a>.</p></body></html>
"""


def is_api_path(path: str) -> bool:
    return path in ("/api", "/v1") or path.startswith(API_PREFIXES)


class UIApp:
    """ASGI app for the built UI; ``directory`` holds ``index.html`` and ``assets/``."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if is_api_path(path):
            raise HTTPException(404)
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405)
        response = self.respond(path, scope)
        await response(scope, receive, send)

    def respond(self, path: str, scope: Scope) -> Response:
        index = self.directory / "index.html"
        if not index.is_file():
            return self.not_built(scope)
        relative = path.lstrip("/")
        if relative.startswith("assets/"):
            asset = self.file(relative)
            if asset is None:  # never answer a missing script with HTML
                raise HTTPException(404)
            return FileResponse(asset, headers={"Cache-Control": IMMUTABLE})
        if relative and "/" not in relative:
            root_file = self.file(relative)
            if root_file is not None and root_file.name != "index.html":
                return FileResponse(root_file, headers={"Cache-Control": ROOT_FILES})
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": REVALIDATE})

    def file(self, relative: str) -> Path | None:
        """The file under the static directory, or None (also for any path escaping it)."""
        try:
            candidate = (self.directory / relative).resolve()
        except (OSError, ValueError):
            return None
        if not candidate.is_relative_to(self.directory) or not candidate.is_file():
            return None
        return candidate

    @staticmethod
    def not_built(scope: Scope) -> Response:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        if "text/html" in accept:
            return HTMLResponse(NOT_BUILT_HTML, status_code=503)
        hint = "the web UI is not built; run `make run` (or npm ci && npm run build in frontend/)"
        return JSONResponse(
            {"success": False, "error": {"code": "ui_not_built", "message": hint}},
            status_code=503,
        )


def mount_ui(app: FastAPI, directory: Path = STATIC_DIR) -> None:
    """Mount the UI at ``/``; call after including every API router (routes match in order)."""
    app.mount("/", UIApp(directory), name="ui")
