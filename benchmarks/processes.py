"""Start and stop the processes a benchmark measures: the simulator, the gateway, its peers.

Everything listens on 127.0.0.1 on free ports and is killed when the benchmark ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
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


PROBE_SECONDS = 5.0  # longer than `/ready`'s own database bound (1.5 s)


def wait_until_up(url: str, timeout: float = 120.0, headers: dict[str, str] | None = None) -> None:
    """Wait until `url` answers below 500; the bound catches a hang (a busy machine starts
    slowly), it is not a start-up target."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=PROBE_SECONDS, headers=headers).status_code < 500:
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
    timeout: float = 60.0,
) -> Iterator[Service]:
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_until_up(probe, timeout=timeout, headers=headers)
            yield Service(name, url, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


STAND_IN_SLOTS = 2048  # more than any scenario runs at once


@contextmanager
def simulator(
    tokens: int = 64, token_delay: float = 0.0, parallel: int = STAND_IN_SLOTS
) -> Iterator[Service]:
    """The stand-in upstream. It reports `parallel` slots per model (an LM Studio reports 4):
    the gateway's admission stays on, as by default, but the figures measure the gateway, not
    a 4-slot GPU queue that the peers (which know no slots) would not have."""
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
        "--parallel",
        str(parallel),
    ]
    log = Path(tempfile.gettempdir()) / f"bench-sim-{port}.log"
    with _running("simulator", cmd, dict(os.environ), f"{url}/v1/models", url, log) as svc:
        yield svc


@contextmanager
def gateway(
    upstream: str,
    workdir: Path,
    log_level: str | None = None,
    *,
    wrap: Sequence[str] = (),
    timeout: float = 60.0,
    **env_extra: str,
) -> Iterator[Service]:
    """The gateway at its defaults (the JSON access log on, at INFO) unless `log_level` says
    otherwise (`WARNING` turns the access log off); `wrap` runs it under another command
    (callgrind), given `timeout` seconds to come up."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BIGSHOT_")},
        "BIGSHOT_DATA_DIR": str(workdir / "data"),
        "BIGSHOT_BOOTSTRAP_ADMIN_KEY": BENCH_KEY,
        "BIGSHOT_SECRET_KEY": "benchmark",
        "LMSTUDIO_API_BASE": f"{upstream}/v1",
        **({"BIGSHOT_LOG_LEVEL": log_level} if log_level else {}),
        **env_extra,
    }
    cmd = [*wrap, str(VENV_BIN / "bigshot-llm"), "serve", "--port", str(port), "--workers", "1"]
    log = workdir / "gateway.log"
    with _running("gateway", cmd, env, f"{url}/health", url, log, timeout=timeout) as svc:
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
        timeout=240.0,  # its imports alone take a minute on a busy machine
    ) as svc:
        yield svc


PORTKEY_DIR = ROOT / ".cache" / "portkey"
PORTKEY_SERVER = (
    PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
)


def portkey_headers(upstream: str) -> dict[str, str]:
    """Portkey routes a request by its headers: an OpenAI-compatible upstream at a custom host."""
    return {
        "Authorization": "Bearer lm-studio",
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": f"{upstream}/v1",
    }


@contextmanager
def portkey_gateway(upstream: str, workdir: Path) -> Iterator[Service]:
    """Portkey's gateway (Node, `npm i @portkey-ai/gateway` in .cache/portkey), headless.

    It takes only a port (it listens on every interface); the benchmark talks to 127.0.0.1.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NODE_ENV": "production"}
    cmd = ["node", str(PORTKEY_SERVER), f"--port={port}", "--headless"]
    log = workdir / "portkey.log"
    with _running("portkey", cmd, env, f"{url}/", url, log) as svc:
        yield svc
