"""Screenshots of the main screens (desktop 1280×800 and 375 px wide, light and dark).

They land in `docs/screenshots/` (the README shows them) when a file is missing or when
`BIGSHOT_UPDATE_SCREENSHOTS=1`; otherwise in a temporary folder, so an ordinary test run
exercises every screen without rewriting committed pictures.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.e2e.conftest import ADMIN, UI_WAIT_MS, sign_in, use_scripted_provider
from tests.e2e.scripted import Script
from tests.e2e.test_ui_features import RICH_ANSWER
from tests.support.servers import ThreadedServer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
HISTORY = ["Plan a weekend in Lisbon", "Explain SSE vs WebSockets", "Regex for ISO dates"]


def target(name: str, tmp_path: Path) -> Path:
    wanted = DOCS / name
    if os.environ.get("BIGSHOT_UPDATE_SCREENSHOTS") == "1" or not wanted.exists():
        DOCS.mkdir(parents=True, exist_ok=True)
        return wanted
    return tmp_path / name


@pytest.fixture
def ada_key(api: httpx.Client, sim: Any) -> str:
    """A fresh user with a short history (made through the API, fast)."""
    answer = api.post("/api/v1/keys", json={"name": "ada-ui", "user": "ada", "role": "user"})
    key = str(answer.json()["data"]["key"]) if answer.status_code == 201 else ""
    if not key:
        pytest.fail(f"could not create a user key: {answer.text}")
    sim.state.token_delay = 0
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=str(api.base_url), headers=headers, timeout=10) as client:
        for title in HISTORY:
            created = client.post("/api/v1/chat/streams", json={"message": title})
            assert created.status_code == 201, created.text
            events = client.get(created.json()["data"]["events_url"])
            assert "event: done" in events.text
    return key


def shoot(page: Any, name: str, tmp_path: Path) -> None:
    page.wait_for_timeout(150)  # let the caret blink settle and fonts paint
    page.screenshot(path=str(target(name, tmp_path)))


def test_screenshots(
    browser: Any, gateway: ThreadedServer, sim: Any, ada_key: str, tmp_path: Path
) -> None:
    sim.state.token_delay = 0.01
    sim.state.tokens = 60
    conversation: str | None = None
    for scheme in ("light", "dark"):
        for size, label in ((DESKTOP, "desktop"), (PHONE, "mobile")):
            context = browser.new_context(viewport=size, color_scheme=scheme)
            context.set_default_timeout(UI_WAIT_MS)
            try:
                page = context.new_page()
                if label == "mobile":
                    page.goto(gateway.url)
                    page.wait_for_selector("#api-key")
                    shoot(page, f"signin-{label}-{scheme}.png", tmp_path)
                if conversation is None:
                    sign_in(page, gateway, ada_key)
                    page.fill("#composer-input", "How do I run a model locally with LM Studio?")
                    page.keyboard.press("Enter")
                    page.wait_for_selector("article.assistant[data-status=complete]")
                    conversation = page.url  # /c/<id>: the same chat for every screenshot
                else:
                    page.goto(f"{conversation}#key={ada_key}")
                    page.wait_for_selector("article.assistant[data-status=complete]")
                page.wait_for_selector("[data-testid=provider-status]:has-text('online')")
                page.locator("#composer-input").blur()
                shoot(page, f"chat-{label}-{scheme}.png", tmp_path)
                if label == "desktop":
                    page.click("button[aria-label=Settings]")
                    page.wait_for_selector("#settings-panel")
                    shoot(page, f"settings-{label}-{scheme}.png", tmp_path)
                    page.click("button[aria-label=Settings]")
                    page.click("button[aria-label=Providers]")
                    page.wait_for_selector("[role=dialog] .provider-row")
                    shoot(page, f"providers-{label}-{scheme}.png", tmp_path)
                    page.keyboard.press("Escape")
                    page.get_by_role("button", name="Model details").click()
                    page.wait_for_selector("[data-testid=model-info]")
                    shoot(page, f"model-details-{label}-{scheme}.png", tmp_path)
                else:
                    page.click("button[aria-label='Open the history']")
                    page.wait_for_selector(".drawer-open .conversation-open")
                    page.wait_for_timeout(250)  # the drawer's slide-in
                    shoot(page, f"history-{label}-{scheme}.png", tmp_path)
            finally:
                context.close()


def test_feature_screenshots(
    browser: Any,
    gateway: ThreadedServer,
    user_key: str,
    script: tuple[Script, str],
    tmp_path: Path,
) -> None:
    """An answer with highlighted code and typeset math and (phone) the More menu, light and
    dark."""
    state, url = script
    state.answer = RICH_ANSWER
    use_scripted_provider(gateway, user_key, url)
    conversation: str | None = None
    for scheme in ("light", "dark"):
        for size, label in ((DESKTOP, "desktop"), (PHONE, "mobile")):
            context = browser.new_context(viewport=size, color_scheme=scheme)
            context.set_default_timeout(UI_WAIT_MS)
            try:
                page = context.new_page()
                if conversation is None:
                    sign_in(page, gateway, user_key)
                    page.fill("#composer-input", "Area of a circle, in Python and in maths?")
                    page.keyboard.press("Enter")
                    page.wait_for_selector("article.assistant[data-status=complete] .katex")
                    conversation = page.url
                else:
                    page.goto(f"{conversation}#key={user_key}")
                page.wait_for_selector("article.assistant[data-status=complete] .katex")
                page.wait_for_selector("[data-testid=provider-status]:has-text('online')")
                shoot(page, f"code-math-{label}-{scheme}.png", tmp_path)
                if label == "mobile":
                    page.get_by_role("button", name="More").click()
                    page.wait_for_selector("[role=menu]")
                    shoot(page, f"menu-{label}-{scheme}.png", tmp_path)
            finally:
                context.close()


def gradient_png(width: int = 240, height: int = 150) -> bytes:
    """A small colourful PNG (a sunset-like gradient), made here for the image screenshots."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            sun = (x - width * 0.7) ** 2 + (y - height * 0.55) ** 2 < (height * 0.18) ** 2
            sky = (255, 200 - y, 90 + y // 2) if y < height * 0.62 else (40, 70 + y // 4, 120)
            rows.extend((255, 236, 150) if sun else sky)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _daily_conversation(gateway: ThreadedServer) -> str:
    """A reasoning model's tool call and answer, regenerated once (two versions), made
    through the API with the admin key (who may load models)."""

    def turn(client: httpx.Client, **body: Any) -> dict[str, Any]:
        created = client.post("/api/v1/chat/streams", json=body)
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        assert "event: done" in client.get(data["events_url"]).text
        return dict(data)

    with httpx.Client(base_url=gateway.url, headers=ADMIN, timeout=30) as client:
        first = turn(
            client,
            model="qwen3-8b",
            message="What is the weather in Oslo now? Use get_weather",
            tools=[WEATHER_TOOL],
        )
        conv = first["conversation_id"]
        items = client.get(f"/api/v1/conversations/{conv}/messages").json()["data"]["items"]
        call = items[-1]["tool_calls"][0]
        turn(
            client,
            conversation_id=conv,
            tool_results=[{"tool_call_id": call["id"], "content": "sunny, 21 °C"}],
        )
        items = client.get(f"/api/v1/conversations/{conv}/messages").json()["data"]["items"]
        turn(client, conversation_id=conv, regenerate_message_id=items[-1]["id"])
    return str(conv)


def test_daily_feature_screenshots(
    browser: Any, gateway: ThreadedServer, sim: Any, tmp_path: Path
) -> None:
    """Thinking, tool calls, answer versions, an image attached for a vision model and
    (desktop) search results and a chat's own settings, on desktop and phone, light and
    dark."""
    sim.state.token_delay = 0
    sim.state.reasoning_tokens = 30
    try:
        conversation = _daily_conversation(gateway)
    finally:
        sim.state.reasoning_tokens = 8
        sim.state.load_model("qwen2.5-7b-instruct")
    picture = tmp_path / "sunset.png"
    picture.write_bytes(gradient_png())
    for scheme in ("light", "dark"):
        for size, label in ((DESKTOP, "desktop"), (PHONE, "mobile")):
            context = browser.new_context(viewport=size, color_scheme=scheme)
            context.set_default_timeout(UI_WAIT_MS)
            try:
                page = context.new_page()
                page.goto(f"{gateway.url}/c/{conversation}#key={ADMIN_KEY}")
                page.wait_for_selector("[data-testid=versions]")
                page.wait_for_selector("[data-testid=provider-status]:has-text('online')")
                page.locator("article.assistant").last.locator(".thinking-toggle").click()
                page.get_by_test_id("tool-call").first.locator("summary").click()
                page.select_option("#model-select", "gemma-3-4b-it")
                page.get_by_test_id("image-picker").set_input_files(str(picture))
                page.wait_for_selector("ul.attachments img")
                page.fill("#composer-input", "What is in this picture?")
                page.locator(".chat-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
                shoot(page, f"daily-{label}-{scheme}.png", tmp_path)
                if label == "desktop":
                    page.fill("#history-search", "Oslo")
                    page.wait_for_selector("[data-testid=search-results] mark")
                    page.locator("#history-search").blur()
                    shoot(page, f"search-{label}-{scheme}.png", tmp_path)
                    page.fill("#history-search", "")
                    page.click("button[aria-label=Settings]")
                    page.wait_for_selector("#preset-select")
                    shoot(page, f"chat-settings-{label}-{scheme}.png", tmp_path)
            finally:
                context.close()
