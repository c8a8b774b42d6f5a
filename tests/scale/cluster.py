"""Gateway replicas as real processes (`python -m bigshot_llm.cli serve`) on one Postgres
database and one Redis, as a load balancer would see them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import READY_PROBE_SECONDS, free_port
from tests.support.services import PG_HOST, PG_PORT, REDIS_URL

ADMIN_KEY = "bsk_scale-admin-key-0123456789abcdefghijklmnopqrstuvw"
START_TIMEOUT_SECONDS = 120.0  # a hang, not a speed target: a busy machine starts slowly


class Replica:
    """One `bigshot-llm serve` process; its output goes to a log file for post-mortems."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Replica:
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "bigshot_llm.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"replica {self.name} exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=READY_PROBE_SECONDS).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"replica {self.name} did not become ready:\n{self.log()}")

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class Cluster:
    """A fresh Postgres database, a Redis key prefix of its own, and replicas sharing them."""

    def __init__(self, tmp: Path, sim_url: str, **settings: str) -> None:
        self.tmp = tmp
        self.db_name = f"bigshot_scale_{uuid.uuid4().hex[:10]}"
        self.prefix = f"bigshot-test-{uuid.uuid4().hex[:10]}"
        self.sim_url = sim_url
        self.settings = settings
        self.replicas: list[Replica] = []
        _pg(f'CREATE DATABASE "{self.db_name}"')

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{self.db_name}"

    def env(self, name: str) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BIGSHOT_", "LMSTUDIO_", "OPENAI_", "LLM_"))
        }
        base.update(
            BIGSHOT_DATABASE_URL=self.database_url,
            BIGSHOT_REDIS_URL=REDIS_URL,
            BIGSHOT_REDIS_PREFIX=self.prefix,
            BIGSHOT_SECRET_KEY="scale-test-secret",
            BIGSHOT_BOOTSTRAP_ADMIN_KEY=ADMIN_KEY,
            BIGSHOT_DATA_DIR=str(self.tmp / f"data-{name}"),
            BIGSHOT_LOG_LEVEL="WARNING",
            LMSTUDIO_API_BASE=f"{self.sim_url}/v1",
        )
        base.update(self.settings)
        return base

    def add(self, count: int = 1, **overrides: str) -> list[Replica]:
        """Start `count` replicas at once (they take turns migrating) and wait until ready."""
        new = []
        for i in range(count):
            name = f"r{len(self.replicas) + i}"
            new.append(Replica(name, {**self.env(name), **overrides}, self.tmp))
        self.replicas.extend(new)
        for replica in new:
            replica.start()
        for replica in new:
            replica.wait_ready()
        return new

    def close(self) -> None:
        for replica in self.replicas:
            replica.stop()
        _pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        asyncio.run(_drop_prefix(self.prefix))


def _pg(sql: str) -> None:
    async def run() -> None:
        import asyncpg

        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="test")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


async def _drop_prefix(prefix: str) -> None:
    from redis.asyncio import from_url

    redis: Any = from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def auth(key: str = ADMIN_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
