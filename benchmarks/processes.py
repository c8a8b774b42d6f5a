"""Start and stop the processes a benchmark measures: the simulator, the gateway, LiteLLM.

Everything listens on 127.0.0.1 on free ports and is killed when the benchmark ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
BENCH_KEY = "bsk_benchmark-admin-key-0123456789abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def wait_until_up(url: str, timeout: float = 60.0, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0, headers=headers).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def _running(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    probe: str,
    url: str,
    log: Path,
    headers: dict[str, str] | None = None,
) -> Iterator[Service]:
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_until_up(probe, headers=headers)
            yield Service(name, url, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def simulator(tokens: int = 64, token_delay: float = 0.0) -> Iterator[Service]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "bigshot_llm.sim",
        "--port",
        str(port),
        "--tokens",
        str(tokens),
        "--token-delay",
        str(token_delay),
    ]
    log = Path(tempfile.gettempdir()) / f"bench-sim-{port}.log"
    with _running("simulator", cmd, dict(os.environ), f"{url}/v1/models", url, log) as svc:
        yield svc


@contextmanager
def gateway(upstream: str, workdir: Path, **env_extra: str) -> Iterator[Service]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BIGSHOT_DATA_DIR": str(workdir / "data"),
        "BIGSHOT_BOOTSTRAP_ADMIN_KEY": BENCH_KEY,
        "BIGSHOT_SECRET_KEY": "benchmark",
        "BIGSHOT_LOG_LEVEL": "WARNING",
        "LMSTUDIO_API_BASE": f"{upstream}/v1",
        **env_extra,
    }
    cmd = [str(VENV_BIN / "bigshot-llm"), "serve", "--port", str(port), "--workers", "1"]
    log = workdir / "gateway.log"
    with _running("gateway", cmd, env, f"{url}/health", url, log) as svc:
        yield svc


@contextmanager
def litellm_proxy(upstream: str, litellm_bin: Path, workdir: Path) -> Iterator[Service]:
    """LiteLLM's proxy with one worker and an equivalent config (OpenAI-compatible upstream)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: qwen2.5-7b-instruct\n"
        "    litellm_params:\n"
        "      model: openai/qwen2.5-7b-instruct\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: lm-studio\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
        "general_settings:\n"
        "  master_key: sk-bench\n"
    )
    env = {
        **os.environ,
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
    }
    cmd = [
        str(litellm_bin),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    log = workdir / "litellm.log"
    with _running(
        "litellm",
        cmd,
        env,
        f"{url}/health/liveliness",
        url,
        log,
        headers={"Authorization": "Bearer sk-bench"},
    ) as svc:
        yield svc
