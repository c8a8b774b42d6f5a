"""The model operations in the browser: load state and Load in the model picker, the
"loading…" note while LM Studio loads a model just in time, and the side-by-side comparison.

Screenshots go to `docs/screenshots/` when missing or with `BIGSHOT_UPDATE_SCREENSHOTS=1`
(like test_screenshots.py), else to a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.e2e.conftest import UI_WAIT_MS, require_playwright, sign_in
from tests.support.servers import ThreadedServer

expect = require_playwright().expect
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page: Any, name: str, tmp_path: Path) -> None:
    path = DOCS / name
    if not (os.environ.get("BIGSHOT_UPDATE_SCREENSHOTS") == "1" or not path.exists()):
        path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(150)
    page.screenshot(path=str(path))


def start_with_default_model_loaded(sim: Any) -> None:
    sim.state.jit_load_delay = 0.0
    sim.state.load_model("qwen2.5-7b-instruct")


def test_the_picker_shows_load_state_and_loads_a_model(
    page: Any, gateway: ThreadedServer, sim: Any, tmp_path: Path
) -> None:
    start_with_default_model_loaded(sim)
    sign_in(page, gateway)
    state = page.get_by_test_id("model-state")
    expect(state).to_have_text("loaded")
    page.select_option("#model-select", "llama-3.2-1b-instruct")
    expect(state).to_have_text("not loaded")
    page.get_by_role("button", name="Load", exact=True).click()
    expect(state).to_have_text("loaded", timeout=UI_WAIT_MS)
    assert sim.state.is_loaded("llama-3.2-1b-instruct")
    expect(page.get_by_role("button", name="Unload", exact=True)).to_be_visible()
    shot(page, "model-load-desktop-light.png", tmp_path)


def test_a_model_that_is_not_loaded_shows_loading_while_lm_studio_loads_it(
    page: Any, gateway: ThreadedServer, sim: Any, tmp_path: Path
) -> None:
    start_with_default_model_loaded(sim)
    sim.state.jit_load_delay = 2.5
    try:
        sign_in(page, gateway)
        page.select_option("#model-select", "gemma-3-4b-it")
        expect(page.get_by_test_id("model-state")).to_have_text("not loaded")
        page.fill("#composer-input", "Describe a sunset.")
        page.keyboard.press("Enter")
        notice = page.get_by_test_id("jit-loading")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("Loading gemma-3-4b-it…")
        shot(page, "model-jit-loading-desktop-light.png", tmp_path)
        expect(notice).to_be_hidden(timeout=UI_WAIT_MS)  # the first tokens arrived
        expect(page.locator("article.assistant").last).to_have_attribute(
            "data-status", "complete", timeout=UI_WAIT_MS
        )
        expect(page.get_by_test_id("model-state")).to_have_text("loaded")
    finally:
        sim.state.jit_load_delay = 0.0


def test_compare_two_models_side_by_side(
    page: Any, gateway: ThreadedServer, sim: Any, tmp_path: Path
) -> None:
    start_with_default_model_loaded(sim)
    sim.state.tokens = 40
    sign_in(page, gateway)
    page.get_by_role("button", name="Compare", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Model 2", exact=True)).to_be_enabled()
    page.get_by_label("Model 1", exact=True).select_option("qwen2.5-7b-instruct")
    page.get_by_label("Model 2", exact=True).select_option("llama-3.2-1b-instruct")
    page.fill("#compare-prompt", "Explain server-sent events in one paragraph.")
    dialog.get_by_role("button", name="Compare", exact=True).click()
    columns = page.locator(".compare-column")
    expect(columns).to_have_count(2)
    stats = page.get_by_test_id("compare-stats")
    expect(stats).to_have_count(2, timeout=UI_WAIT_MS)
    for i in range(2):
        text = stats.nth(i).inner_text()
        assert "TTFT" in text and "tok/s" in text and "tokens" in text, text
        assert columns.nth(i).locator(".compare-text").inner_text().strip()
    expect(columns.nth(0)).to_contain_text("qwen2.5-7b-instruct")
    expect(columns.nth(1)).to_contain_text("llama-3.2-1b-instruct")
    shot(page, "compare-desktop-light.png", tmp_path)
    assert page.csp_errors == []  # type: ignore[attr-defined]
