"""The gateway as a real process or in process (inspectable), and SSE readers for both APIs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bigshot_llm.sse import SSEDecoder
from tests.support.servers import READY_PROBE_SECONDS, ThreadedServer, free_port

ADMIN_KEY = "bsk_reliability-admin-key-0123456789abcdefghijklmnopq"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
NATIVE_CHAT = "/api/v1/llm-providers/chat/completions"
OPENAI_CHAT = "/v1/chat/completions"
MODEL = "qwen2.5-7b-instruct"
# Catches a restart that hangs (a lock, a stuck migration), not a speed target: on a busy
# 2-core machine a fresh Python process alone can take a minute to serve (65 s seen with
# three suites running beside it).
START_WITHIN_SECONDS = 120.0
READY_WITHIN_SECONDS = START_WITHIN_SECONDS
# A provider's connect bound in the tests that load the machine and do not time connecting.
CONNECT_TIMEOUT_UNDER_LOAD = 30.0


def gateway_env(data_dir: Path, upstream_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `bigshot-llm serve` process: ours, none of the caller's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BIGSHOT_", "LMSTUDIO_", "OPENAI_", "LLM_", "PROMETHEUS_"))
    }
    env.update(
        BIGSHOT_DATA_DIR=str(data_dir),
        BIGSHOT_BOOTSTRAP_ADMIN_KEY=ADMIN_KEY,
        BIGSHOT_SECRET_KEY="reliability-test-secret",
        BIGSHOT_LOG_LEVEL="WARNING",
        BIGSHOT_HEALTH_CHECK_SECONDS="0",
        LMSTUDIO_API_BASE=f"{upstream_url}/v1",
    )
    env.update(extra)
    return env


class GatewayProcess:
    """`python -m bigshot_llm.cli serve` on a free loopback port; output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> GatewayProcess:
        with self.log_path.open("ab") as log:
            cmd = [sys.executable, "-m", "bigshot_llm.cli", "serve", "--port", str(self.port)]
            self.process = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        return self

    def wait_ready(self, timeout: float = START_WITHIN_SECONDS) -> float:
        """Seconds until `/ready` answers 200 (raises RuntimeError after `timeout`)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=READY_PROBE_SECONDS).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the gateway was not ready within {timeout} s:\n{self.log()}")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


_POOLED_DB_FILES = (".db", ".db-wal", ".db-shm")


def fd_count(pid: int | str = "self") -> int:
    """Open file descriptors, not counting SQLite's files: database connections are pooled
    (bounded by the pool's size) and may grow under load without being leaked."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if not target.endswith(_POOLED_DB_FILES):
            count += 1
    return count


def task_count(server: ThreadedServer) -> int:
    """Tasks alive in the server's event loop, not counting the one that counts."""
    return len(task_names(server))


def task_names(server: ThreadedServer) -> list[str]:
    """What each task alive in the server's loop runs, not counting the one that asks."""
    assert server.loop is not None

    async def names() -> list[str]:
        me = asyncio.current_task()
        return sorted(
            f"{t.get_name()}: {t.get_coro()!r}"[:160] for t in asyncio.all_tasks() if t is not me
        )

    return asyncio.run_coroutine_threadsafe(names(), server.loop).result(timeout=5)


def settle(probe: Any, baseline: int, timeout: float = 5.0) -> int:
    """Poll `probe()` until it is back at `baseline` (or below); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = int(probe())
        if value <= baseline or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def chat_body(content: str, *, stream: bool, openai: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": content}],
        "stream": stream,
    }
    if openai and stream:
        body["stream_options"] = {"include_usage": True}
    body.update(extra)
    return body


def parse_stream(raw: bytes, *, openai: bool) -> tuple[str, str, dict[str, Any] | None]:
    """(text, how it ended: "done" / "error" / "truncated", the error object if any)."""
    events = SSEDecoder().feed(raw)
    text: list[str] = []
    if not openai:
        for event in events:
            data = orjson.loads(event.data) if event.data else {}
            if event.event == "delta":
                text.append(data["text"])
            elif event.event in ("done", "error"):
                return "".join(text), event.event, data if event.event == "error" else None
        return "".join(text), "truncated", None
    error: dict[str, Any] | None = None
    for event in events:
        if event.data == "[DONE]":
            return "".join(text), "error" if error else "done", error
        data = orjson.loads(event.data)
        if "error" in data:
            error = data["error"]
            continue
        for choice in data.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text), "truncated", error


def answer_text(payload: dict[str, Any], *, openai: bool) -> str:
    """The text of a non-streaming chat answer, either API."""
    if openai:
        return str(payload["choices"][0]["message"]["content"])
    data = payload["data"]
    return str(data.get("content") or data.get("message", {}).get("content"))
