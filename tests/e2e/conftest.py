"""End-to-end fixtures: the real gateway (with the built UI) and the LM Studio simulator on
loopback, driven by Debian's Chromium through Playwright.

Without Chromium or the built UI the tests skip; with ``BIGSHOT_REQUIRE_SERVICES=1`` (CI)
they fail instead. Playwright never downloads a browser here: it always launches
``/usr/bin/chromium`` with a fresh temporary profile.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.sim.testing import running_sim
from bigshot_llm.web.static import STATIC_DIR
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.e2e.scripted import Script, scripted_app
from tests.support.servers import ThreadedServer

# Playwright's waits (actions and `expect`) are hang catchers here, not speed targets: with
# other suites on the machine a streamed answer can take far longer than Playwright's 5 s.
UI_WAIT_MS = 30_000


def pytest_configure(config: pytest.Config) -> None:
    try:
        from playwright.sync_api import expect
    except ImportError:  # the browser tests then fail on their own, saying why
        return
    expect.set_options(timeout=UI_WAIT_MS)


CHROMIUM = Path(os.environ.get("BIGSHOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ADMIN = auth(ADMIN_KEY)
TOKEN_DELAY = 0.05


def _unavailable(reason: str) -> None:
    if os.environ.get("BIGSHOT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"e2e: {reason} (BIGSHOT_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def require_playwright() -> Any:
    """`playwright.sync_api`, else skip the module (fail under BIGSHOT_REQUIRE_SERVICES=1)."""
    try:
        import playwright.sync_api as api
    except ImportError:
        if os.environ.get("BIGSHOT_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(
            "playwright is not installed (pip install -e '.[dev]')", allow_module_level=True
        )
    return api


@pytest.fixture(scope="session")
def chromium_ready() -> None:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not (STATIC_DIR / "index.html").is_file():
        _unavailable("the UI is not built (make ui, or npm ci && npm run build in frontend/)")
    require_playwright()


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """The simulator the default provider points at (module-wide; tests reset its knobs)."""
    with running_sim(token_delay=TOKEN_DELAY, tokens=24, seed="e2e") as server:
        yield server


@pytest.fixture(scope="module")
def script() -> Iterator[tuple[Script, str]]:
    """A scripted OpenAI-compatible upstream (answers with `Script.answer`) and its URL."""
    state = Script()
    with ThreadedServer(scripted_app(state)) as server:
        yield state, server.url


def use_scripted_provider(gateway: ThreadedServer, key: str, url: str) -> str:
    """Give the key's user a provider at the scripted upstream and make it their active one."""
    with httpx.Client(base_url=gateway.url, headers=auth(key), timeout=10) as client:
        made = client.post(
            "/api/v1/llm-providers",
            json={"name": "Scripted", "kind": "openai_compatible", "base_url": f"{url}/v1"},
        )
        assert made.status_code == 201, made.text
        provider = str(made.json()["data"]["id"])
        activated = client.post(
            f"/api/v1/llm-providers/{provider}/activate", json={"scope": "user"}
        )
        assert activated.status_code == 200, activated.text
    return provider


@pytest.fixture(scope="module")
def dead_sim_url() -> str:
    """The address of a simulator that was running and has stopped (connection refused)."""
    with running_sim() as server:
        url = server.url
    return url


@pytest.fixture(scope="module")
def gateway(
    chromium_ready: None, sim: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ThreadedServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("e2e"),
        lmstudio_api_base=f"{sim.url}/v1",
        model_cache_ttl=2.0,
        # Users' own providers point at the scripted upstream and simulators on loopback
        # ports the tests pick at random.
        allowed_upstream_hosts="127.0.0.1,localhost",
    )
    with ThreadedServer(create_app(settings)) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_sim(request: pytest.FixtureRequest) -> None:
    if "sim" in request.fixturenames:
        state = request.getfixturevalue("sim").state
        state.token_delay = TOKEN_DELAY
        state.tokens = 24
        state.set_fault(None)


@pytest.fixture
def api(gateway: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=ADMIN, timeout=10) as client:
        yield client


@pytest.fixture
def user_key(api: httpx.Client, request: pytest.FixtureRequest) -> str:
    """A fresh user per test: its own preferences, history and active provider."""
    name = f"u-{request.node.name[5:40]}-{uuid.uuid4().hex[:6]}"
    answer = api.post("/api/v1/keys", json={"name": name, "user": name, "role": "user"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["data"]["key"])


@pytest.fixture(scope="module")
def browser(chromium_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # launch() gives every run a fresh temporary profile (user-data dir), removed on close.
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    ctx.set_default_timeout(UI_WAIT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    page = context.new_page()
    page.csp_errors = []  # type: ignore[attr-defined]

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            page.csp_errors.append(message.text)  # type: ignore[attr-defined]

    page.on("console", on_console)
    return page


def sign_in(page: Any, gateway: ThreadedServer, key: str = ADMIN_KEY) -> None:
    """Open the UI with `#key=` (as printed by `make run`) and wait for the model list."""
    page.goto(f"{gateway.url}/#key={key}")
    page.wait_for_selector("#model-select:not([disabled])")
