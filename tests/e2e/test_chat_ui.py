"""The web UI in real Chromium against the real gateway and the LM Studio simulator."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, auth
from tests.e2e.conftest import UI_WAIT_MS, require_playwright, sign_in
from tests.e2e.proxy import DroppingProxy
from tests.support.servers import ThreadedServer

expect = require_playwright().expect
ASSISTANT = "article.assistant"
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)


def send(page: Any, text: str) -> None:
    page.fill("#composer-input", text)
    page.keyboard.press("Enter")


def last_answer(page: Any) -> Any:
    return page.locator(ASSISTANT).last


def test_sign_in_rejects_a_bad_key_then_accepts_a_good_one(
    page: Any, gateway: ThreadedServer
) -> None:
    page.goto(gateway.url)
    page.fill("#api-key", "bsk_wrong-key")
    page.click("button:has-text('Sign in')")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "rejected (401" in alert.inner_text()

    page.fill("#api-key", ADMIN_KEY)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("#model-select:not([disabled])")
    assert page.evaluate("localStorage.getItem('bigshot.apiKey')") == ADMIN_KEY

    page.click("button[aria-label='Sign out']")
    page.wait_for_selector("#api-key")
    assert page.evaluate("localStorage.getItem('bigshot.apiKey')") is None


def test_the_key_link_signs_in_and_leaves_no_key_in_the_address(
    page: Any, gateway: ThreadedServer
) -> None:
    sign_in(page, gateway)
    assert "#" not in page.url and "key=" not in page.evaluate("location.href")
    assert page.evaluate("localStorage.getItem('bigshot.apiKey')") == ADMIN_KEY


def test_model_choice_settings_and_theme_survive_a_reload(
    page: Any, gateway: ThreadedServer, user_key: str
) -> None:
    sign_in(page, gateway, user_key)
    select = page.locator("#model-select")
    options = select.locator("option").all_inner_texts()
    assert options[0].startswith("qwen2.5-7b-instruct · llm")
    groups = select.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups == ["Loaded", "Not loaded"]
    assert not any("embed" in o for o in options)
    assert select.input_value() == "qwen2.5-7b-instruct"  # the first loaded model

    select.select_option("llama-3.2-1b-instruct")
    page.click("button[aria-label=Settings]")
    page.fill("#temperature-number", "0.3")
    page.fill("#max-tokens-number", "1500")
    page.fill("#system-prompt", "You answer like a pirate.")
    page.click("button[aria-label^='Theme: system']")  # system → light
    page.click("button[aria-label^='Theme: light']")  # light → dark
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator("[data-testid=settings-sync]")).to_have_text("Saved to your account")

    # A new browser profile would have no local copy: only the server's preferences count.
    page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('bigshot.prefs') ||"
        " k === 'bigshot.theme').forEach(k => localStorage.removeItem(k))"
    )
    page.reload()
    page.wait_for_selector("#model-select:not([disabled])")
    expect(page.locator("#model-select")).to_have_value("llama-3.2-1b-instruct")
    page.click("button[aria-label=Settings]")
    expect(page.locator("#temperature-number")).to_have_value("0.3")
    expect(page.locator("#max-tokens-number")).to_have_value("1500")
    expect(page.locator("#system-prompt")).to_have_value("You answer like a pirate.")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_tokens_stream_in_as_they_arrive_with_stats(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str
) -> None:
    # 100 × 50 ms: 5 s of generation, so that a busy machine (where one look at the page can
    # take a few hundred ms) still sees it grow; a buffering UI shows it whole, at once.
    sim.state.tokens = 100
    sign_in(page, gateway, user_key)
    send(page, "Tell me about rivers")
    answer = last_answer(page)
    answer.wait_for()
    lengths: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if answer.get_attribute("data-status") != "streaming":
            break
        lengths.append(len(answer.locator(".message-body").inner_text()))
        time.sleep(0.08)
    assert answer.get_attribute("data-status") == "complete"
    growth = sorted(set(lengths))
    assert len(growth) >= 5, f"the answer did not grow token by token: {lengths}"
    assert lengths == sorted(lengths)

    stats = answer.locator("[data-testid=message-stats]").inner_text()
    assert "TTFT" in stats and "tok/s" in stats and "qwen2.5-7b-instruct" in stats
    assert page.locator("button[aria-label='Copy answer']").count() >= 1
    assert page.locator(".message.user").last.inner_text() == "Tell me about rivers"
    assert page.csp_errors == []


def test_stop_cancels_and_the_stopped_answer_reopens_from_history(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str
) -> None:
    sim.state.tokens = 400  # 20 s if nobody stops it
    sign_in(page, gateway, user_key)
    page.click("button:has-text('New chat')")
    send(page, "A very long story please")
    answer = last_answer(page)
    page.wait_for_function(
        "() => (document.querySelector('article.assistant:last-of-type .message-body p')"
        "?.textContent || '').length > 20"
    )
    stopped_at = time.monotonic()
    page.click("button[aria-label='Stop generating']")
    page.wait_for_selector(f"{ASSISTANT}[data-status=cancelled]", timeout=UI_WAIT_MS)
    assert time.monotonic() - stopped_at < 3
    partial = answer.locator(".message-body p").first.inner_text()
    assert partial
    expect(answer.get_by_test_id("stop-reason")).to_have_text("Stopped by you")
    sim.state.wait_for(lambda: sim.state.streams_open == 0, timeout=3)
    assert sim.state.streams_aborted >= 1

    # Leave the conversation, then open it again from the history.
    page.click("button:has-text('New chat')")
    page.wait_for_selector("text=What can I help with?")
    page.locator(".conversation-open", has_text="A very long story").first.click()
    reopened = page.locator(f"{ASSISTANT}[data-status=cancelled]")
    reopened.wait_for()
    assert reopened.locator(".message-body p").first.inner_text().startswith(partial[:20])
    assert page.locator(".message.user").first.inner_text() == "A very long story please"


def test_history_rename_and_delete(page: Any, gateway: ThreadedServer, user_key: str) -> None:
    sign_in(page, gateway, user_key)
    page.click("button:has-text('New chat')")
    send(page, "Remember the mangoes")
    page.wait_for_selector(f"{ASSISTANT}[data-status=complete]")
    item = page.locator(".conversation.current")
    item.wait_for()

    item.locator("button[aria-label^='Rename']").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Mango plans")
    page.keyboard.press("Enter")
    page.wait_for_selector(".conversation.current >> text=Mango plans")
    assert "/c/" in page.url
    page.reload()  # the address names the conversation: it reopens
    page.wait_for_selector(".conversation.current >> text=Mango plans")
    page.wait_for_selector(f"{ASSISTANT}[data-status=complete]")
    assert page.locator(".message.user").first.inner_text() == "Remember the mangoes"

    page.locator(".conversation", has_text="Mango plans").hover()
    page.locator(".conversation", has_text="Mango plans").locator(
        "button[aria-label^='Delete']"
    ).click()
    page.locator(".conversation .confirm button:has-text('Delete')").click()
    page.wait_for_selector("text=Mango plans", state="detached")


def test_switching_to_an_offline_provider_and_back(
    page: Any, gateway: ThreadedServer, user_key: str, dead_sim_url: str
) -> None:
    # A user's own provider at the address of a simulator that has stopped.
    user = httpx.Client(base_url=gateway.url, headers=auth(user_key), timeout=10)
    created = user.post(
        "/api/v1/llm-providers",
        json={"name": "Offline box", "kind": "lmstudio", "base_url": f"{dead_sim_url}/v1"},
    )
    assert created.status_code == 201, created.text
    offline_id = created.json()["data"]["id"]

    sign_in(page, gateway, user_key)
    status = page.locator("[data-testid=provider-status]")
    expect(status).to_have_text(re.compile(r"^online"))
    online_id = page.locator("#provider-select").input_value()
    assert page.locator("#provider-select option", has_text="Offline box").count() == 1

    page.locator("#provider-select").select_option(offline_id)
    expect(status).to_have_text("offline")
    expect(page.locator("#model-select")).to_be_disabled()
    # Read as an expectation: the placeholder may follow in a later render on a busy machine.
    composer = page.locator("#composer-input")
    expect(composer).to_have_attribute("placeholder", re.compile(r"^No chat"))
    active = user.get("/api/v1/llm-providers/active").json()["data"]
    assert (active["provider"]["id"], active["scope"]) == (offline_id, "user")

    page.locator("#provider-select").select_option(online_id)
    expect(status).to_have_text(re.compile(r"^online · \d+ ms"))
    expect(page.locator("#model-select")).to_be_enabled()
    expect(page.locator("#model-select")).to_have_value("qwen2.5-7b-instruct")  # first loaded
    send(page, "Still there?")
    page.wait_for_selector(f"{ASSISTANT}[data-status=complete]")
    active = user.get("/api/v1/llm-providers/active").json()["data"]
    assert active["provider"]["id"] == online_id
    user.close()


def test_manage_providers_add_test_edit_delete(
    page: Any, gateway: ThreadedServer, sim: Any
) -> None:
    sign_in(page, gateway)
    page.click("button[aria-label=Providers]")
    dialog = page.locator("[role=dialog]")
    dialog.wait_for()
    dialog.locator("button:has-text('Add provider')").click()
    dialog.locator("#new-name").fill("Workstation")
    dialog.locator("#new-url").fill(f"{sim.url}/v1")
    dialog.locator("#new-key").fill("sk-secret-workstation-key")
    dialog.locator("button[type=submit]").click()
    row = dialog.locator(".provider-row", has_text="Workstation")
    row.wait_for()
    assert "sk-secret-workstation-key" not in dialog.inner_text()  # write-only, masked

    row.locator("button:has-text('Test')").click()
    row.locator("text=reachable").wait_for()

    row.locator("button:has-text('Edit')").click()
    key_field = dialog.locator("input[type=password]")
    assert key_field.input_value() == ""
    assert "keep" in (key_field.get_attribute("placeholder") or "")
    dialog.locator("input[id$='-name']").fill("Workstation 2")
    dialog.locator("button:has-text('Save')").click()
    row = dialog.locator(".provider-row", has_text="Workstation 2")
    row.wait_for()

    row.locator("button[aria-label='Delete Workstation 2']").click()
    row.locator("button:has-text('Delete Workstation 2')").click()
    row.wait_for(state="detached")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")


def test_works_under_the_strict_csp_and_at_phone_width(
    browser: Any, gateway: ThreadedServer
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        def strict(route: Any) -> None:
            response = route.fetch()
            headers = {**response.headers, "content-security-policy": STRICT_CSP}
            route.fulfill(response=response, headers=headers)

        page.route("**/*", lambda route: strict(route))
        sign_in(page, gateway)
        send(page, "Hello from a phone")
        page.wait_for_selector(f"{ASSISTANT}[data-status=complete]")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.click("button[aria-label='Open the history']")
        page.locator(".conversation-open", has_text="Hello from a phone").click()
        page.wait_for_selector(f"{ASSISTANT}[data-status=complete]")
        assert not page.locator(".sidebar").is_visible() or not page.locator(".scrim").count()
        assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
        assert not [p for p in problems if "Uncaught" in p]
    finally:
        context.close()


def test_a_network_blip_mid_answer_resumes_without_losing_tokens(
    browser: Any, gateway: ThreadedServer, sim: Any, api: httpx.Client
) -> None:
    sim.state.tokens = 80  # 4 s of generation at 50 ms a token
    proxy = DroppingProxy(gateway.port)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(UI_WAIT_MS)
    try:
        page = context.new_page()
        page.goto(f"{proxy.url}/#key={ADMIN_KEY}")
        page.wait_for_selector("#model-select:not([disabled])")
        send(page, "Keep talking through the outage")
        body = page.locator(f"{ASSISTANT} .message-body").last
        expect(body).to_have_text(re.compile(r"\w+ \w+ \w+ \w+"))
        proxy.drop()  # the EventSource's connection dies mid-answer
        page.wait_for_selector("text=Connection interrupted, resuming")
        page.wait_for_selector(f"{ASSISTANT}[data-status=complete]")
        shown = page.locator(f"{ASSISTANT} .message-body").last.inner_text().strip()

        conversation = page.url.rsplit("/c/", 1)[1]
        stored = api.get(f"/api/v1/conversations/{conversation}/messages").json()["data"]
        answer = [m for m in stored["items"] if m["role"] == "assistant"][-1]
        assert answer["status"] == "complete"
        assert shown == answer["content"].strip()  # every token once, none lost or doubled
    finally:
        context.close()
        proxy.close()
