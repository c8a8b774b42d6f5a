"""Access to the local Postgres and Redis; skipped when absent unless CI requires them."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_URL = "redis://127.0.0.1:6379/0"


def services_required() -> bool:
    return os.environ.get("BIGSHOT_REQUIRE_SERVICES") == "1"


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip when the service is down, or fail when CI says every service must run."""
    if port_open(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(message + " (BIGSHOT_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def require_binary(name: str) -> str:
    """The path of program `name`; skipped when it is missing, unless CI requires services."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed"
    if services_required():
        pytest.fail(message + " (BIGSHOT_REQUIRE_SERVICES=1)")
    pytest.skip(message)


async def create_postgres_database() -> str:
    """A fresh database of the test's own; returns its asyncpg URL (drop it afterwards)."""
    import asyncpg

    require_service("PostgreSQL", PG_HOST, PG_PORT)
    name = f"bigshot_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="test")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="test")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def temporary_postgres_database() -> AsyncIterator[str]:
    """A fresh database of the test's own, dropped afterwards; yields its asyncpg URL."""
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)
