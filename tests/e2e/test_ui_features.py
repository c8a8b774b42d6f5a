"""The chat UI's everyday features, used in Chromium the way a person uses them.

Issue "Chat UI for daily use": code highlighting and math (under the gateway's own strict
CSP), per-message actions, the context meter, the model details, keyboard shortcuts, max
tokens up to the model's limit, and export as Markdown and JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import auth
from tests.e2e.conftest import require_playwright, sign_in, use_scripted_provider
from tests.e2e.scripted import MODEL as SCRIPTED_MODEL
from tests.e2e.scripted import Script
from tests.support.servers import ThreadedServer

expect = require_playwright().expect
ASSISTANT = "article.assistant"
RICH_ANSWER = """Here is the function:

```python
def area(r):
    return 3.14159 * r ** 2
```

The formula is $$A = \\pi r^2$$ and, written the other way, \\(C = 2 \\pi r\\).

\\[
\\int_0^1 x^2 \\, dx = \\frac{1}{3}
\\]
"""


def send(page: Any, text: str) -> None:
    page.fill("#composer-input", text)
    page.keyboard.press("Enter")


def stored_answer(gateway: ThreadedServer, key: str, conversation: str) -> dict[str, Any]:
    with httpx.Client(base_url=gateway.url, headers=auth(key), timeout=10) as client:
        items = client.get(f"/api/v1/conversations/{conversation}/messages").json()["data"]["items"]
    answers = [m for m in items if m["role"] == "assistant"]
    assert answers, items
    return dict(answers[-1])


def conversation_of(page: Any) -> str:
    match = re.search(r"/c/([A-Za-z0-9_-]+)", page.url)
    assert match, page.url
    return match.group(1)


def test_code_is_highlighted_and_math_rendered_under_the_strict_csp(
    page: Any, gateway: ThreadedServer, user_key: str, script: tuple[Script, str]
) -> None:
    state, url = script
    state.answer = RICH_ANSWER
    use_scripted_provider(gateway, user_key, url)
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url) if "/assets/" in r.url else None)
    sign_in(page, gateway, user_key)
    expect(page.locator("#model-select")).to_have_value(SCRIPTED_MODEL)
    assert not any("richMarkdown" in u for u in loaded), (
        "the highlighter loaded before it was needed"
    )

    send(page, "Show me code and maths")
    body = page.locator(f"{ASSISTANT}[data-status=complete] .message-body")
    expect(body.locator(".hljs-keyword").first).to_have_text("def")
    expect(body.locator(".code-lang")).to_have_text("python")
    expect(body.locator(".katex")).to_have_count(3)
    expect(body.locator(".katex-display")).to_have_count(1)
    # KaTeX typeset it: the fraction is drawn (an element with the font's class), not "\frac".
    assert "\\frac" not in body.inner_text()
    assert body.locator(".katex .mfrac").count() == 1
    assert any("richMarkdown" in u for u in loaded)
    # Fonts and styles came from the gateway itself, and nothing was refused by the CSP.
    font = page.evaluate("getComputedStyle(document.querySelector('.katex')).fontFamily")
    assert "KaTeX" in font
    assert page.csp_errors == []  # type: ignore[attr-defined]


def test_copy_an_answer_and_see_why_it_stopped(
    browser: Any, gateway: ThreadedServer, sim: Any, user_key: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    try:
        page = context.new_page()
        sign_in(page, gateway, user_key)
        page.click("button[aria-label=Settings]")
        page.fill("#max-tokens-number", "8")  # the simulator answers 24 tokens: this cuts it
        page.keyboard.press("Tab")
        page.click("button[aria-label=Settings]")
        send(page, "Say something long")
        answer = page.locator(f"{ASSISTANT}[data-status=complete]")
        expect(answer).to_have_count(1)
        expect(answer.get_by_test_id("stop-reason")).to_have_text("Cut at the max tokens limit")

        answer.get_by_role("button", name="Copy answer").click()
        expect(answer.get_by_role("button", name="Copied")).to_be_visible()
        copied = page.evaluate("navigator.clipboard.readText()")
        stored = stored_answer(gateway, user_key, conversation_of(page))
        assert copied == stored["content"] and len(copied.split()) == 8
        assert stored["stats"]["finish_reason"] == "length"
    finally:
        context.close()


def test_the_context_meter_shows_used_and_loaded_context(
    page: Any, gateway: ThreadedServer, user_key: str
) -> None:
    sign_in(page, gateway, user_key)
    assert page.get_by_test_id("context-meter").count() == 0  # nothing used yet
    send(page, "How much context is this?")
    expect(page.locator(f"{ASSISTANT}[data-status=complete]")).to_have_count(1)
    stored = stored_answer(gateway, user_key, conversation_of(page))
    used = stored["usage"]["prompt_tokens"] + stored["usage"]["completion_tokens"]
    meter = page.get_by_test_id("context-meter")
    expect(meter).to_contain_text(f"{used:,} / 4,096 tokens")  # qwen is loaded with 4 096
    assert page.locator("[data-testid=context-meter] meter").get_attribute("max") == "4096"


def test_model_details_show_context_quantisation_capabilities_and_state(
    page: Any, gateway: ThreadedServer
) -> None:
    sign_in(page, gateway)
    page.get_by_role("button", name="Model details").click()
    details = page.get_by_test_id("model-info")
    expect(details).to_contain_text("qwen2.5-7b-instruct")
    expect(details).to_contain_text("Context length32,768 tokens")
    expect(details).to_contain_text("Loaded with4,096 tokens")
    expect(details).to_contain_text("QuantisationQ4_K_M")
    expect(details).to_contain_text("Capabilitiestext chat")
    expect(details).to_contain_text("Load stateloaded in memory")
    page.keyboard.press("Escape")
    page.select_option("#model-select", "gemma-3-4b-it")
    page.get_by_role("button", name="Model details").click()
    expect(details).to_contain_text("vision (images)")
    expect(details).to_contain_text("not loaded")


def test_keyboard_shortcuts(page: Any, gateway: ThreadedServer, sim: Any, user_key: str) -> None:
    sim.state.tokens = 400  # long enough to stop from the keyboard
    sign_in(page, gateway, user_key)
    page.keyboard.press("Control+/")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for does in ("New chat", "Focus the message box", "Stop the answer being written"):
        expect(dialog).to_contain_text(does)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.locator("header.topbar").click(position={"x": 5, "y": 5})  # focus is not in the box
    page.keyboard.press("Shift+Escape")
    assert page.evaluate("document.activeElement.id") == "composer-input"
    page.keyboard.type("Tell me everything")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{ASSISTANT}[data-status=streaming] .message-body p")
    page.keyboard.press("Escape")
    expect(page.locator(f"{ASSISTANT}[data-status=cancelled]")).to_have_count(1)
    assert "/c/" in page.url

    page.keyboard.press("Control+Shift+O")
    expect(page.get_by_text("What can I help with?")).to_be_visible()
    assert page.url.rstrip("/") == gateway.url
    assert page.evaluate("document.activeElement.id") == "composer-input"
    page.keyboard.press("?")  # typed into the box: no dialog
    assert page.get_by_role("dialog").count() == 0


def test_max_tokens_reach_the_models_limit(
    page: Any, gateway: ThreadedServer, sim: Any, api: httpx.Client, user_key: str
) -> None:
    sim.state.token_delay = 0.0
    sim.state.load_model("llama-3.2-1b-instruct", context_length=16384)
    provider = api.get("/api/v1/llm-providers/active").json()["data"]["provider"]["id"]
    refresh = f"/api/v1/llm-providers/models?detailed=true&provider={provider}&refresh=true"
    try:
        assert api.get(refresh).status_code == 200  # past the gateway's model cache
        sign_in(page, gateway, user_key)
        page.select_option("#model-select", "llama-3.2-1b-instruct")
        page.click("button[aria-label=Settings]")
        slider = page.locator("#max-tokens")
        expect(slider).to_have_attribute("max", "16384")
        expect(page.locator("#max-tokens-hint")).to_contain_text("16,384")
        page.fill("#max-tokens-number", "12000")
        page.keyboard.press("Tab")
        send(page, "A long one please")
        expect(page.locator(f"{ASSISTANT}[data-status=complete]")).to_have_count(1)
        assert sim.state.last_request_body["max_tokens"] == 12000
    finally:
        sim.state.load_model("qwen2.5-7b-instruct")
        api.get(refresh)


def test_export_a_conversation_as_markdown_and_json(
    page: Any, gateway: ThreadedServer, user_key: str, tmp_path: Path
) -> None:
    sign_in(page, gateway, user_key)
    send(page, "Remember the blue door")
    expect(page.locator(f"{ASSISTANT}[data-status=complete]")).to_have_count(1)
    stored = stored_answer(gateway, user_key, conversation_of(page))

    files: dict[str, str] = {}
    for label, suffix in (("Export as Markdown", ".md"), ("Export as JSON", ".json")):
        page.get_by_role("button", name="More").click()
        with page.expect_download() as info:
            page.get_by_role("menuitem", name=label).click()
        download = info.value
        assert download.suggested_filename.endswith(suffix), download.suggested_filename
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        files[suffix] = target.read_text(encoding="utf-8")

    markdown = files[".md"]
    assert markdown.startswith("# ")
    assert "## You\n\nRemember the blue door" in markdown
    assert stored["content"].strip() in markdown
    exported = json.loads(files[".json"])
    assert exported["format"] == "bigshot-llm.conversation"
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant"]
    assert exported["messages"][1]["content"] == stored["content"]
    assert exported["conversation"]["id"] == conversation_of(page)
