"""The chat features people use every day, in Chromium the way a person uses them.

Issue "Chat UI for daily use", second part: regenerate (versions to flip through, Alt+R),
edit and resend (a branch), continue a cut answer, the thinking block, images (pick, paste,
drop), tool calls, search, JSON export and import, per-chat parameters and presets, and
per-message delete with the stop reason.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import auth
from tests.e2e.conftest import require_playwright, sign_in, use_scripted_provider
from tests.e2e.scripted import Script
from tests.e2e.test_ui_features import conversation_of, send
from tests.support.servers import ThreadedServer

expect = require_playwright().expect
ASSISTANT = "article.assistant"
DONE = f"{ASSISTANT}[data-status=complete]"


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG (grey pixels), made here: no image library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def messages(gateway: ThreadedServer, key: str, conversation: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=gateway.url, headers=auth(key), timeout=10) as client:
        answer = client.get(f"/api/v1/conversations/{conversation}/messages")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"]["items"])


def chat_through_api(gateway: ThreadedServer, key: str, **body: Any) -> dict[str, Any]:
    with httpx.Client(base_url=gateway.url, headers=auth(key), timeout=20) as client:
        created = client.post("/api/v1/chat/streams", json=body)
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        events = client.get(data["events_url"])
        assert "event: done" in events.text, events.text
    return dict(data)


@contextlib.contextmanager
def loaded(sim: Any, api: httpx.Client, model: str) -> Iterator[None]:
    """`model` loaded in the simulator (users may not load models), past the model cache;
    the default model again afterwards."""
    provider = api.get("/api/v1/llm-providers/active").json()["data"]["provider"]["id"]
    refresh = f"/api/v1/llm-providers/models?detailed=true&provider={provider}&refresh=true"
    sim.state.load_model(model)
    try:
        assert api.get(refresh).status_code == 200
        yield
    finally:
        sim.state.load_model("qwen2.5-7b-instruct")
        api.get(refresh)


def test_regenerate_keeps_earlier_answers_as_versions_and_alt_r_regenerates(
    page: Any, gateway: ThreadedServer, user_key: str, script: tuple[Script, str]
) -> None:
    state, url = script
    use_scripted_provider(gateway, user_key, url)
    state.answer = "The first answer."
    sign_in(page, gateway, user_key)
    send(page, "Name a colour")
    answer = page.locator(DONE)
    expect(answer).to_contain_text("The first answer.")

    state.answer = "The second answer."
    answer.get_by_role("button", name="Regenerate answer").click()
    expect(page.locator(DONE)).to_contain_text("The second answer.")
    versions = page.locator(f"{ASSISTANT} [data-testid=versions]")
    expect(versions).to_contain_text("2 / 2")
    expect(page.locator(ASSISTANT)).to_have_count(1)
    # The model was asked the question again, without the earlier answer.
    assert [m["role"] for m in state.requests[-1]["messages"]] == ["user"]

    versions.get_by_role("button", name="Previous version").click()
    expect(page.locator(DONE)).to_contain_text("The first answer.")
    expect(versions).to_contain_text("1 / 2")
    page.reload()  # the versions and the one on show are kept by the server
    expect(page.locator(DONE)).to_contain_text("The first answer.")
    expect(page.locator(f"{ASSISTANT} [data-testid=versions]")).to_contain_text("1 / 2")

    # The shortcut, listed in the help dialog, regenerates the last answer.
    page.keyboard.press("Control+/")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_contain_text(
        "Regenerate the last answer"
    )
    page.keyboard.press("Escape")
    state.answer = "The third answer."
    page.locator("header.topbar").click(position={"x": 5, "y": 5})
    page.keyboard.press("Alt+r")
    expect(page.locator(DONE)).to_contain_text("The third answer.")
    expect(page.locator(f"{ASSISTANT} [data-testid=versions]")).to_contain_text("3 / 3")
    stored = messages(gateway, user_key, conversation_of(page))
    assert len(stored[1]["siblings"]) == 3 and stored[1]["content"] == "The third answer."


def test_edit_a_sent_message_and_resend_as_a_branch(
    page: Any, gateway: ThreadedServer, user_key: str, script: tuple[Script, str]
) -> None:
    state, url = script
    use_scripted_provider(gateway, user_key, url)
    state.answer = "Paris."
    sign_in(page, gateway, user_key)
    send(page, "Capital of France?")
    expect(page.locator(DONE)).to_contain_text("Paris.")

    state.answer = "Rome."
    question = page.locator("article.user")
    question.get_by_role("button", name="Edit message").click()
    box = question.get_by_label("Edit your message")
    expect(box).to_have_value("Capital of France?")
    box.fill("Capital of Italy?")
    question.get_by_role("button", name="Save and send").click()
    expect(page.locator(DONE)).to_contain_text("Rome.")
    expect(page.locator("article.user .user-text")).to_have_text("Capital of Italy?")
    sent = [m["content"] for m in state.requests[-1]["messages"]]
    assert sent == ["Capital of Italy?"]

    # The earlier branch is still there: flip the question back, its answer comes with it.
    user_versions = page.locator("article.user [data-testid=versions]")
    expect(user_versions).to_contain_text("2 / 2")
    user_versions.get_by_role("button", name="Previous version").click()
    expect(page.locator("article.user .user-text")).to_have_text("Capital of France?")
    expect(page.locator(DONE)).to_contain_text("Paris.")


def test_continue_an_answer_cut_at_max_tokens(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str
) -> None:
    sim.state.token_delay = 0  # nothing here watches tokens arrive
    sign_in(page, gateway, user_key)
    page.click("button[aria-label=Settings]")
    page.fill("#max-tokens-number", "8")  # the simulator answers 24 tokens: this cuts it
    page.keyboard.press("Tab")
    page.click("button[aria-label=Settings]")
    send(page, "Tell me something long")
    answer = page.locator(DONE)
    expect(answer.get_by_test_id("stop-reason")).to_have_text("Cut at the max tokens limit")
    cut = answer.locator(".markdown").inner_text()

    page.click("button[aria-label=Settings]")  # this chat's own settings now
    expect(page.locator("#settings-title")).to_have_text("This chat's settings")
    page.fill("#max-tokens-number", "400")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("settings-sync")).to_have_text("Saved with this chat")
    # "Saved" is also what the panel says before the debounced save starts: wait for the
    # server to hold the new limit (a busy machine may take a while to send it).
    with httpx.Client(base_url=gateway.url, headers=auth(user_key), timeout=10) as client:
        deadline = time.monotonic() + 20
        path = f"/api/v1/conversations/{conversation_of(page)}"
        while client.get(path).json()["data"]["settings"].get("max_tokens") != 400:
            assert time.monotonic() < deadline, "the chat's max tokens were never saved"
            time.sleep(0.05)
    page.click("button[aria-label=Settings]")
    sim.state.token_delay = 0.02  # slow enough to reload while it writes
    sim.state.tokens = 300
    answer.get_by_role("button", name="Continue").click()
    page.wait_for_selector(f"{ASSISTANT}[data-status=streaming]")
    page.reload()  # mid-answer: the page reattaches and grows the same answer
    page.wait_for_selector(f"{ASSISTANT} .markdown")
    expect(page.locator(ASSISTANT)).to_have_count(1)  # not the stored part and the rest apart
    assert page.locator(f"{ASSISTANT} .markdown").inner_text().startswith(cut.rstrip()[:40])
    expect(answer.get_by_test_id("stop-reason")).to_have_text("Finished", timeout=20000)
    expect(page.locator(ASSISTANT)).to_have_count(1)
    expect(page.locator(ASSISTANT)).to_have_count(1)  # the same answer, grown
    grown = answer.locator(".markdown").inner_text()
    assert grown.startswith(cut.rstrip()) and len(grown) > len(cut)
    stored = messages(gateway, user_key, conversation_of(page))
    assert len(stored) == 2 and stored[1]["stats"]["finish_reason"] == "stop"
    assert stored[1]["stats"]["continued"] == 1
    assert sim.state.last_request_body["messages"][-1]["role"] == "assistant"
    expect(answer.get_by_role("button", name="Continue")).to_have_count(0)


def test_thinking_streams_live_then_collapses(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str, api: httpx.Client
) -> None:
    sim.state.reasoning_tokens = 40
    with loaded(sim, api, "qwen3-8b"):
        _thinking(page, gateway, user_key)
    sim.state.reasoning_tokens = 8


def _thinking(page: Any, gateway: ThreadedServer, user_key: str) -> None:
    sign_in(page, gateway, user_key)
    page.select_option("#model-select", "qwen3-8b")
    send(page, "Think about it")
    live = page.locator(f"{ASSISTANT}[data-status=streaming] [data-testid=thinking]")
    toggle = live.get_by_role("button", name="Thinking…")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(live.locator(".thinking-text")).not_to_be_empty()

    block = page.locator(f"{DONE} [data-testid=thinking]")
    button = block.locator(".thinking-toggle")
    expect(button).to_have_text("Thought (40 words)")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(block.locator(".thinking-text")).to_have_count(0)
    button.click()
    stored = messages(gateway, user_key, conversation_of(page))
    expect(block.locator(".thinking-text")).to_have_text(stored[1]["reasoning"])
    assert stored[1]["reasoning"] not in page.locator(f"{DONE} .markdown").inner_text()


def test_attach_images_by_picking_pasting_and_dropping(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str, tmp_path: Path, api: httpx.Client
) -> None:
    sim.state.token_delay = 0
    with loaded(sim, api, "gemma-3-4b-it"):
        _images(page, gateway, user_key, tmp_path)


def _images(page: Any, gateway: ThreadedServer, user_key: str, tmp_path: Path) -> None:
    image = png()
    picked = tmp_path / "picked.png"
    picked.write_bytes(image)
    sign_in(page, gateway, user_key)
    page.select_option("#model-select", "qwen2.5-7b-instruct")  # text only
    expect(page.get_by_role("button", name="Attach images")).to_be_disabled()
    page.select_option("#model-select", "gemma-3-4b-it")  # a vision model
    expect(page.get_by_role("button", name="Attach images")).to_be_enabled()

    page.get_by_test_id("image-picker").set_input_files(str(picked))
    encoded = base64.b64encode(image).decode()
    make_file = (
        "b64 => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));"
        " const dt = new DataTransfer(); dt.items.add(new File([bytes], 'shot.png',"
        " {type: 'image/png'})); return dt; }"
    )
    page.evaluate(
        f"b64 => {{ const dt = ({make_file})(b64); document.querySelector('#composer-input')"
        ".dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true})); }",
        encoded,
    )
    page.evaluate(
        f"b64 => {{ const dt = ({make_file})(b64); const form = document.querySelector("
        "'form.composer'); form.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt,"
        " bubbles: true, cancelable: true})); form.dispatchEvent(new DragEvent('drop',"
        " {dataTransfer: dt, bubbles: true, cancelable: true})); }",
        encoded,
    )
    thumbs = page.get_by_role("list", name="Attached images").locator("img")
    expect(thumbs).to_have_count(3)
    page.get_by_role("button", name="Remove shot.png").first.click()
    expect(thumbs).to_have_count(2)

    send(page, "What is in these?")
    expect(page.locator("article.user .message-images img")).to_have_count(2)
    answer = page.locator(DONE)
    expect(answer).to_contain_text(f"I see 2 image(s): image/png of {len(image)} bytes")
    stored = messages(gateway, user_key, conversation_of(page))
    parts = stored[0]["parts"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url"]
    assert parts[1]["image_url"]["url"] == f"data:image/png;base64,{encoded}"
    page.reload()  # the images come back from the server
    expect(page.locator("article.user .message-images img")).to_have_count(2)


WEATHER = {
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


def test_tool_calls_and_results_are_shown(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str
) -> None:
    sim.state.token_delay = 0  # nothing here watches tokens arrive
    made = chat_through_api(
        gateway, user_key, message="Weather in Oslo? Use get_weather", tools=[WEATHER]
    )
    conv = made["conversation_id"]
    call = messages(gateway, user_key, conv)[1]["tool_calls"][0]
    chat_through_api(
        gateway,
        user_key,
        conversation_id=conv,
        tool_results=[{"tool_call_id": call["id"], "content": "sunny, 21 C"}],
    )
    sign_in(page, gateway, user_key)
    page.goto(f"{gateway.url}/c/{conv}")
    tool = page.get_by_test_id("tool-call")
    expect(tool).to_have_count(1)
    expect(tool).to_contain_text("Called get_weather")
    expect(page.locator(f"{ASSISTANT}").first.get_by_test_id("stop-reason")).to_have_text(
        "Ended with a tool call"
    )
    tool.locator("summary").click()
    arguments = json.loads(tool.locator(".tool-arguments").inner_text())
    assert arguments == json.loads(call["function"]["arguments"])
    expect(page.get_by_test_id("tool-result")).to_have_text("sunny, 21 C")
    expect(page.locator(ASSISTANT).last).to_contain_text("The tool said: sunny, 21 C")


def test_search_across_history(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str, api: httpx.Client
) -> None:
    sim.state.token_delay = 0
    wanted = chat_through_api(gateway, user_key, message="Where is the blue door?")
    chat_through_api(gateway, user_key, message="Plan a trip to Oslo")
    other = api.post("/api/v1/keys", json={"name": "s-other", "user": "s-other", "role": "user"})
    chat_through_api(gateway, other.json()["data"]["key"], message="my blue door too")

    sign_in(page, gateway, user_key)
    page.fill("#history-search", "BLUE door")
    results = page.get_by_test_id("search-results")
    expect(results.locator("li")).to_have_count(1)
    expect(results.locator("mark")).to_have_text("blue door")
    results.locator(".search-hit").click()
    expect(page).to_have_url(f"{gateway.url}/c/{wanted['conversation_id']}")
    expect(page.locator("article.user")).to_contain_text("Where is the blue door?")
    page.fill("#history-search", "no such words")
    expect(page.get_by_text("No chat mentions that.")).to_be_visible()
    page.focus("#history-search")
    page.keyboard.press("Escape")
    expect(page.locator(".conversation-list .conversation")).to_have_count(2)


def test_export_as_json_then_import_it_and_bad_files_are_refused(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str, tmp_path: Path
) -> None:
    sim.state.token_delay = 0  # nothing here watches tokens arrive
    sign_in(page, gateway, user_key)
    send(page, "Remember the green gate")
    expect(page.locator(DONE)).to_have_count(1)
    page.locator(DONE).get_by_role("button", name="Regenerate answer").click()
    expect(page.locator(f"{ASSISTANT} [data-testid=versions]")).to_contain_text("2 / 2")
    original = conversation_of(page)

    page.get_by_role("button", name="More").click()
    with page.expect_download() as info:
        page.get_by_role("menuitem", name="Export as JSON").click()
    exported = tmp_path / info.value.suggested_filename
    info.value.save_as(exported)
    file = json.loads(exported.read_text(encoding="utf-8"))
    assert file["format"] == "bigshot-llm.conversation" and len(file["messages"]) == 3

    page.get_by_test_id("import-file").set_input_files(str(exported))
    page.wait_for_url(lambda u: "/c/" in u and original not in u)
    expect(page.locator("article.user")).to_contain_text("Remember the green gate")
    expect(page.locator(f"{ASSISTANT} [data-testid=versions]")).to_contain_text("2 / 2")
    imported = conversation_of(page)
    assert [m["content"] for m in messages(gateway, user_key, imported)] == [
        m["content"] for m in messages(gateway, user_key, original)
    ]

    not_json = tmp_path / "notes.json"
    not_json.write_text("# just some notes", encoding="utf-8")
    page.get_by_test_id("import-file").set_input_files(str(not_json))
    expect(page.get_by_test_id("import-error")).to_contain_text("notes.json is not a JSON file")
    broken = tmp_path / "broken.json"
    file["messages"][1]["parent_id"] = "nowhere"
    broken.write_text(json.dumps(file), encoding="utf-8")
    page.get_by_test_id("import-file").set_input_files(str(broken))
    expect(page.get_by_test_id("import-error")).to_contain_text("messages.1.parent_id")
    assert conversation_of(page) == imported  # nothing new was opened


def test_per_chat_parameters_and_saved_presets(
    page: Any, gateway: ThreadedServer, user_key: str, script: tuple[Script, str]
) -> None:
    state, url = script
    use_scripted_provider(gateway, user_key, url)
    state.answer = "Aye."
    sign_in(page, gateway, user_key)
    page.click("button[aria-label=Settings]")
    expect(page.locator("#settings-title")).to_have_text("Settings for new chats")
    page.click("button[aria-label=Settings]")
    send(page, "Hello")
    expect(page.locator(DONE)).to_have_count(1)

    page.click("button[aria-label=Settings]")
    expect(page.locator("#settings-title")).to_have_text("This chat's settings")
    page.fill("#system-prompt", "You talk like a pirate.")
    page.fill("#temperature-number", "0.2")
    page.fill("#max-tokens-number", "3000")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("settings-sync")).to_have_text("Saved with this chat")
    page.get_by_role("button", name="Save as preset…").click()
    page.fill("#preset-name", "Pirate")
    page.keyboard.press("Enter")
    page.click("button[aria-label=Settings]")
    send(page, "Again")
    expect(page.locator(DONE)).to_have_count(2)
    body = state.requests[-1]
    assert body["messages"][0] == {"role": "system", "content": "You talk like a pirate."}
    assert body["temperature"] == 0.2 and body["max_tokens"] == 3000

    # A new chat starts from the defaults; the preset applies the saved ones.
    page.keyboard.press("Control+Shift+O")
    page.click("button[aria-label=Settings]")
    expect(page.locator("#system-prompt")).to_have_value("")
    page.reload()  # the preset is kept with the account
    page.wait_for_selector("#model-select:not([disabled])")
    page.click("button[aria-label=Settings]")
    page.select_option("#preset-select", "Pirate")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#system-prompt")).to_have_value("You talk like a pirate.")
    expect(page.locator("#temperature-number")).to_have_value("0.2")
    expect(page.locator("#max-tokens-number")).to_have_value("3000")


def test_delete_a_message_and_see_why_each_answer_ended(
    page: Any, gateway: ThreadedServer, sim: Any, user_key: str
) -> None:
    sim.state.token_delay = 0  # nothing here watches tokens arrive
    sign_in(page, gateway, user_key)
    send(page, "First question")
    expect(page.locator(DONE)).to_have_count(1)
    send(page, "Second question")
    expect(page.locator(DONE)).to_have_count(2)
    expect(page.locator(f"{DONE} [data-testid=stop-reason]")).to_have_text(["Finished", "Finished"])
    first_answer = page.locator(DONE).first
    first_answer.get_by_role("button", name="Delete message").click()
    first_answer.get_by_role("group", name="Delete this message?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.locator(ASSISTANT)).to_have_count(1)
    stored = messages(gateway, user_key, conversation_of(page))
    assert [m["content"] for m in stored if m["role"] == "user"] == [
        "First question",
        "Second question",
    ]
    assert [m["role"] for m in stored] == ["user", "user", "assistant"]
