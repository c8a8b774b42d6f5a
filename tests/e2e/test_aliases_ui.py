"""Model aliases in the browser: an admin adds one in the Providers dialog, picks it in the
model picker and chats with it; the answer comes from the model the alias stands for."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import require_playwright, sign_in
from tests.support.servers import ThreadedServer

expect = require_playwright().expect
ASSISTANT = "article.assistant"


def test_add_an_alias_pick_it_and_chat_with_it(
    page: Any, gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.jit_load_delay = 0.0
    sim.state.load_model("qwen3-8b")
    sign_in(page, gateway)
    page.click("button[aria-label=Providers]")
    dialog = page.locator("[role=dialog]")
    dialog.wait_for()
    dialog.get_by_role("button", name="Add alias").click()
    form = dialog.get_by_role("form", name="Add alias")
    form.get_by_label("Alias").fill("team-default")
    form.get_by_label("Model").fill("qwen3-8b")
    form.get_by_role("button", name="Add alias").click()
    row = dialog.locator(".provider-row", has_text="team-default")
    expect(row).to_contain_text("→ LMStudio Local/qwen3-8b")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    picker = page.locator("#model-select")
    expect(picker.locator("optgroup[label=Aliases] option")).to_have_text(
        ["team-default → LMStudio Local/qwen3-8b"]
    )
    picker.select_option("team-default")
    page.fill("#composer-input", "Who answers?")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{ASSISTANT}[data-status=complete]")
    assert sim.state.last_request_body["model"] == "qwen3-8b"
    expect(picker).to_have_value("team-default")  # the chat keeps the alias
