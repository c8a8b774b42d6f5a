"""SIGTERM during streams (a real `bigshot-llm serve` process): no new requests are accepted,
running streams finish within the shutdown grace, and streams still running at the deadline
end with a terminal event instead of a cut connection."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigshot_llm.sim.testing import running_sim
from tests.reliability.helpers import (
    ADMIN,
    NATIVE_CHAT,
    OPENAI_CHAT,
    GatewayProcess,
    chat_body,
    gateway_env,
    parse_stream,
)

pytestmark = pytest.mark.timeout(120)


def stream_in_thread(url: str, path: str, openai: bool, results: list[Any]) -> threading.Thread:
    def run() -> None:
        try:
            body = chat_body(f"shutdown {path}", stream=True, openai=openai)
            with httpx.Client(base_url=url, timeout=30) as client:
                response = client.post(path, json=body, headers=ADMIN)
            results.append(
                (path, response.status_code, parse_stream(response.content, openai=openai))
            )
        except httpx.HTTPError as exc:
            results.append((path, None, repr(exc)))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def run_shutdown(tmp_path: Path, grace: float, stream_seconds: float) -> tuple[list[Any], float]:
    """Two streams per API, SIGTERM once they run; returns their results and when it exited."""
    tokens = 40
    with running_sim(tokens=tokens, token_delay=stream_seconds / tokens) as sim:
        env = gateway_env(tmp_path / "data", sim.url, BIGSHOT_SHUTDOWN_GRACE_SECONDS=str(grace))
        gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
        try:
            gateway.wait_ready()
            results: list[Any] = []
            threads = [
                stream_in_thread(gateway.url, path, openai, results)
                for path, openai in ((NATIVE_CHAT, False), (OPENAI_CHAT, True)) * 2
            ]
            sim.state.wait_for(lambda: sim.state.streams_open == 4, timeout=10)
            time.sleep(0.3)
            terminated = time.monotonic()
            gateway.terminate()
            time.sleep(0.3)
            with pytest.raises(httpx.TransportError):  # no new requests
                httpx.get(f"{gateway.url}/health", timeout=2)
            for thread in threads:
                thread.join(30)
            assert gateway.process is not None
            gateway.process.wait(30)
            exited = time.monotonic() - terminated
        finally:
            gateway.stop()
    return results, exited


def test_sigterm_lets_running_streams_finish(tmp_path: Path) -> None:
    results, exited = run_shutdown(tmp_path, grace=10, stream_seconds=2.0)
    assert len(results) == 4
    for path, status, outcome in results:
        assert status == 200, (path, outcome)
        text, ending, error = outcome
        assert ending == "done" and text, (path, ending, error)
    assert exited < 10


def test_streams_cut_at_the_shutdown_deadline_end_with_a_terminal_event(tmp_path: Path) -> None:
    results, exited = run_shutdown(tmp_path, grace=1, stream_seconds=8.0)
    assert len(results) == 4
    for path, status, outcome in results:
        assert status == 200, (path, outcome)
        text, ending, error = outcome
        assert text, (path, "the stream had started")
        assert ending == "error", (path, ending, error)  # a terminal event, not a cut
    assert exited < 5
