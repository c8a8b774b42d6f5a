"""The interactive API docs (Swagger UI) served from an installed package, never a CDN.

The UI keeps the API key in `localStorage` on this origin, so a script fetched from a CDN
(changed there, or on the way) could read it. The assets come from the `swagger-ui-bundle-v2`
package, and the page has no inline script: its set-up is the small `init.js` below, so the
docs' Content-Security-Policy allows scripts from 'self' only (see
`api.middleware.security_headers`). FastAPI's `/redoc` (CDN only) is not served.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

ASSETS_DIR = Path(swagger_ui_bundle.swagger_ui_path)
# Only what the page loads: the package also ships demo pages and templates.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>bigshot-llm API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>
"""
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def mount_docs(app: FastAPI) -> None:
    """`/docs`, its set-up script and its assets (create the app with `docs_url=None`)."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})

    @app.get("/docs/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(INIT_JS, media_type="text/javascript")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404)
        return FileResponse(
            ASSETS_DIR / name,
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400"},
        )
