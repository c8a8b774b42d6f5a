"""Claude Code and Codex themselves, one-shot, through the gateway with the simulator behind.

The CLIs come from npm (`make agent-clis` installs them into `.cache/agent-clis`; `make
test-agent-clis` installs and runs this module, where a missing CLI is a failure). They run
offline against the gateway on loopback, with their stock model names mapped by aliases:
the simulator's tool-trained model calls one of their tools, the CLI runs it and sends the
result back, and the model answers in text, so each run is a full tool-use loop.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.agents.conftest import CHAT_MODEL
from tests.conftest import ADMIN_KEY

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("BIGSHOT_AGENT_CLI_DIR") or ROOT / ".cache/agent-clis") / (
    "node_modules/.bin"
)
# CI (BIGSHOT_REQUIRE_SERVICES=1) installs them with `make test`: a missing CLI fails there.
REQUIRED = "1" in (
    os.environ.get("BIGSHOT_REQUIRE_AGENT_CLIS"),
    os.environ.get("BIGSHOT_REQUIRE_SERVICES"),
)
TIMEOUT = 240  # generous: a busy 2-core machine starts node slowly


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    return {"model_aliases": f"claude-*={CHAT_MODEL},gpt-5*={CHAT_MODEL}"}


def cli(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        if REQUIRED:
            pytest.fail(f"{path} is missing: run `make agent-clis`")
        pytest.skip(f"{name} is not installed (`make agent-clis` installs it into {BIN.parent})")
    return path


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def test_claude_code_one_shot(gateway: Any, sim: Any, tmp_path: Path) -> None:
    claude = cli("claude")
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = offline_env(
        home,
        ANTHROPIC_BASE_URL=gateway.url,
        ANTHROPIC_API_KEY=ADMIN_KEY,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_ERROR_REPORTING="1",
    )
    done = subprocess.run(
        [str(claude), "-p", "Say hello", "--output-format", "json"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["is_error"] is False, result
    assert result["result"]
    assert result["num_turns"] >= 1
    assert sim.state.last_request_body["model"] == CHAT_MODEL


def test_codex_one_shot(gateway: Any, sim: Any, tmp_path: Path) -> None:
    codex = cli("codex")
    home = tmp_path / "home"
    codex_home = tmp_path / "codex"
    work = tmp_path / "work"
    for folder in (home, codex_home, work):
        folder.mkdir()
    (codex_home / "config.toml").write_text(
        'model = "gpt-5-codex"\n'
        'model_provider = "bigshot"\n\n'
        "[model_providers.bigshot]\n"
        'name = "bigshot"\n'
        f'base_url = "{gateway.url}/v1"\n'
        'env_key = "BIGSHOT_API_KEY"\n'
        'wire_api = "responses"\n'
    )
    env = offline_env(home, CODEX_HOME=str(codex_home), BIGSHOT_API_KEY=ADMIN_KEY)
    done = subprocess.run(
        [str(codex), "exec", "--json", "--skip-git-repo-check", "Say hello"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    kinds = [e["type"] for e in events]
    assert "turn.completed" in kinds and "turn.failed" not in kinds, kinds
    messages = [
        e["item"]["text"]
        for e in events
        if e["type"] == "item.completed" and e["item"].get("type") == "agent_message"
    ]
    assert messages and messages[-1]
    assert sim.state.last_request_body["model"] == CHAT_MODEL
