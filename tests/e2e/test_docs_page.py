"""`/docs` renders Swagger UI in Chromium from the gateway's own assets, under its strict
Content-Security-Policy (no CDN, no inline script), with every operation listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bigshot_llm.main import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, _unavailable, require_playwright
from tests.support.servers import ThreadedServer


def test_swagger_ui_renders_from_local_assets_under_the_csp(tmp_path: Path, sim: Any) -> None:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    api = require_playwright()
    settings = make_settings(tmp_path, lmstudio_api_base=f"{sim.url}/v1")
    with ThreadedServer(create_app(settings)) as server, api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            requested: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{server.url}/docs")
            page.wait_for_selector(
                ".opblock", timeout=60_000
            )  # Swagger UI is heavy on a busy machine
            operations = page.locator(".opblock").count()
            assert operations > 40, operations
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert any("/api/v1/llm-providers/chat/completions" in p for p in paths), paths
        finally:
            browser.close()
    assert not problems, problems  # a CSP violation is a console error
    assert requested and all(url.startswith(server.url) for url in requested), requested
