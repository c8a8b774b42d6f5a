"""The `bigshot-llm` command: serve, migrate, manage keys, list providers, print the OpenAPI."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bigshot_llm import __version__
from bigshot_llm.logging_setup import configure_logging
from bigshot_llm.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"bigshot-llm: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# Any constant works: it only has to be the same on every replica sharing the database.
STARTUP_LOCK_ID = 0x6267_6C6C_6D00


STARTUP_LOCK_POLL_SECONDS = 0.2


@asynccontextmanager
async def _startup_lock(engine: Any, postgres: bool, wait: float) -> AsyncIterator[None]:
    """On Postgres, one replica at a time migrates and bootstraps (an advisory lock).

    The lock is tried, not waited for in one statement: a wait as long as another replica's
    migration would outlast the statement timeout. After `wait` seconds start-up fails."""
    if not postgres:
        yield
        return
    from sqlalchemy import text

    async with engine.connect() as conn:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        try_lock = text("SELECT pg_try_advisory_lock(:id)")
        while not (await conn.execute(try_lock, {"id": STARTUP_LOCK_ID})).scalar():
            await conn.commit()  # no transaction held open while waiting
            if loop.time() > deadline:
                raise SystemExit(
                    f"bigshot-llm: another replica has held the start-up lock for {wait:.0f} s "
                    "(migrating?); set BIGSHOT_DB_STARTUP_LOCK_TIMEOUT to wait longer"
                )
            await asyncio.sleep(STARTUP_LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": STARTUP_LOCK_ID})
            await conn.commit()


@asynccontextmanager
async def _core(settings: Settings) -> AsyncIterator[Any]:
    """The database, secrets and provider registry a command needs (no HTTP app), closed after."""
    from bigshot_llm.lifespan import build_core

    core = build_core(settings)
    try:
        yield core
    finally:
        await core.registry.aclose()
        await core.engine.dispose()


async def _prepare(settings: Settings) -> None:
    """Migrate (unless BIGSHOT_AUTO_MIGRATE=false) and run first-start set-up once, before any
    worker starts; replicas starting together on Postgres take turns."""
    from bigshot_llm.lifespan import prepare_core

    async with (
        _core(settings) as core,
        _startup_lock(core.engine, not settings.is_sqlite, settings.db_startup_lock_timeout),
    ):
        await prepare_core(core)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    os.environ["BIGSHOT_HOST"] = host
    os.environ["BIGSHOT_PORT"] = str(port)
    if settings.log_format is None:
        os.environ["BIGSHOT_LOG_FORMAT"] = "json"  # `serve` logs JSON unless told otherwise
    settings = _settings()
    configure_logging(settings.log_format or "json", settings.log_level)
    metrics_dir = prepare_metrics_dir(workers)
    asyncio.run(_prepare(settings))
    os.environ["BIGSHOT_AUTO_MIGRATE"] = "false"  # done above, once for all workers
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    print(f"bigshot-llm {__version__}: UI {base}/   API docs {base}/docs", flush=True)
    try:
        _run_uvicorn(uvicorn, settings, host, port, workers)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def prepare_metrics_dir(workers: int) -> str | None:
    """Several workers share Prometheus metrics through files in PROMETHEUS_MULTIPROC_DIR.

    A directory given in the environment is emptied of a previous run's values; with
    `workers > 1` and none given, a temporary one is made (returned, to be removed after).
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return None
    if workers <= 1:
        return None
    created = tempfile.mkdtemp(prefix="bigshot-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created  # inherited by every worker
    return created


def _run_uvicorn(uvicorn: Any, settings: Settings, host: str, port: int, workers: int) -> None:
    from bigshot_llm.server_protocol import GuardedHttpToolsProtocol

    uvicorn.run(
        "bigshot_llm.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # httptools with header size and time bounds and a per-address connection cap: uvicorn
        # is exposed directly (no proxy in the Dockerfile or the manifests). Each worker reads
        # the limits from the settings (BIGSHOT_MAX_HEADER_BYTES, _REQUEST_TIMEOUT_SECONDS,
        # _MAX_CONNECTIONS_PER_CLIENT).
        http=GuardedHttpToolsProtocol,
        log_level=settings.log_level.lower(),
        log_config=None,  # ours (configure_logging above; each worker's lifespan again)
        access_log=False,
        # SIGTERM: stop accepting, let running responses finish up to the grace; the lifespan
        # then gives generations without a local reader the same grace (see main.py).
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
    )


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    from bigshot_llm.db import migrate
    from bigshot_llm.db.engine import make_engine
    from bigshot_llm.services.access.secrets import secure_data_dir, secure_sqlite

    settings = _settings()
    secure_data_dir(settings.data_dir)
    secure_sqlite(settings.effective_database_url)

    async def run() -> None:
        engine = make_engine(settings.effective_database_url)
        try:
            # Init containers race, like replicas starting together.
            async with _startup_lock(
                engine, not settings.is_sqlite, settings.db_startup_lock_timeout
            ):
                await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is up to date")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from bigshot_llm.services.access import audit
    from bigshot_llm.services.access.auth import create_key, ensure_user

    settings = _settings()

    async def run() -> str:
        async with _core(settings) as core, core.sessions() as session:
            user = await ensure_user(session, args.user or args.name, args.role)
            if user.role != args.role:
                raise SystemExit(f"user '{user.name}' exists with role '{user.role}'")
            key, clear = await create_key(session, user, args.name)
            audit.record(session, None, "key.create", "api_key", key.id, after={"name": key.name})
            await session.commit()
            return clear

    print(asyncio.run(run()))
    return 0


def cmd_providers_list(_: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> None:
        async with _core(settings) as core:
            await core.registry.reload()
            active = core.registry.selection("global")
            for record in core.registry.all_records():
                mark = "*" if record.id == active else " "
                owner = "global" if record.owner_id is None else f"user:{record.owner_id}"
                print(
                    f"{mark} {record.id}  {record.name}  {record.kind}  {record.base_url}  {owner}"
                )

    asyncio.run(run())
    return 0


def _rotation_secrets(settings: Settings) -> tuple[str, str]:
    """(old, new): from the environment, the new one else from standard input; never argv,
    which every local user can read in the process list."""
    from bigshot_llm.services.access.secrets import KEY_FILE_NAME

    old = settings.old_secret_key or settings.secret_key
    key_file = settings.data_dir / KEY_FILE_NAME
    if not old and key_file.exists():
        old = key_file.read_text().strip()
    new = settings.new_secret_key
    if not new:
        if sys.stdin.isatty():
            import getpass

            new = getpass.getpass("new secret: ")
        else:
            new = sys.stdin.readline().rstrip("\r\n")
    if not old:
        raise SystemExit(
            "bigshot-llm: no current secret: set BIGSHOT_OLD_SECRET_KEY (or BIGSHOT_SECRET_KEY)"
        )
    if not new:
        raise SystemExit(
            "bigshot-llm: no new secret: set BIGSHOT_NEW_SECRET_KEY or give it on standard input"
        )
    return old, new


def cmd_secrets_rotate(_: argparse.Namespace) -> int:
    """Re-encrypt every stored secret (upstream keys, webhook secrets) under the new secret."""
    from sqlmodel import select

    from bigshot_llm.db.engine import make_engine, make_session_factory
    from bigshot_llm.db.models import ProviderConfig, Webhook
    from bigshot_llm.services.access.secrets import SecretBox, SecretUnreadable

    settings = _settings()
    old, new = _rotation_secrets(settings)
    box = SecretBox(new, old_secrets=(old,))

    async def run() -> int:
        engine = make_engine(settings.effective_database_url)
        try:
            async with make_session_factory(engine)() as session:
                providers = (await session.exec(select(ProviderConfig))).all()
                hooks = (await session.exec(select(Webhook))).all()
                sealed = [
                    *((p, "api_key_encrypted", f"provider '{p.name}' ({p.id})") for p in providers),
                    *((h, "secret_encrypted", f"webhook {h.id} ({h.url})") for h in hooks),
                ]
                count = 0
                for row, attr, label in sealed:
                    if not getattr(row, attr):
                        continue
                    try:
                        setattr(row, attr, box.rotate(getattr(row, attr)))
                    except SecretUnreadable as exc:
                        raise SecretUnreadable(f"{label}: {exc}; nothing was changed") from None
                    session.add(row)
                    count += 1
                await session.commit()  # all or nothing
                return count
        finally:
            await engine.dispose()

    try:
        count = asyncio.run(run())
    except SecretUnreadable as exc:
        print(f"bigshot-llm: {exc}", file=sys.stderr)
        return 1
    print(f"re-encrypted {count} stored secrets; now set BIGSHOT_SECRET_KEY to the new secret")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    """Print the API's OpenAPI document (JSON): the app is built, never served, and no
    database is opened (that happens in the lifespan, which does not run here)."""
    import json

    from bigshot_llm.main import create_app

    schema = create_app(_settings()).openapi()
    text = json.dumps(schema, indent=2 if args.indent else None, sort_keys=True)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bigshot-llm", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    keys = sub.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=["admin", "user"], default="user")
    create.add_argument("--user", help="the key's user (default: the key name)")
    create.set_defaults(func=cmd_keys_create)

    providers = sub.add_parser("providers", help="provider configs").add_subparsers(
        dest="providers_command", required=True
    )
    providers.add_parser("list", help="list provider configs").set_defaults(func=cmd_providers_list)
    secrets = sub.add_parser("secrets", help="encryption of stored upstream keys")
    rotate = secrets.add_subparsers(dest="secrets_command", required=True).add_parser(
        "rotate",
        help="re-encrypt stored secrets under a new BIGSHOT_SECRET_KEY",
        description="The current secret comes from BIGSHOT_OLD_SECRET_KEY (default: "
        "BIGSHOT_SECRET_KEY or the generated key file), the new one from "
        "BIGSHOT_NEW_SECRET_KEY or the first line of standard input. Secrets are never "
        "taken from the command line, which other local users can read.",
    )
    rotate.set_defaults(func=cmd_secrets_rotate)

    openapi = sub.add_parser("openapi", help="print the OpenAPI schema (JSON) and exit")
    openapi.add_argument("--output", "-o", help="write to this file instead of stdout")
    openapi.add_argument("--indent", action="store_true", help="pretty-print")
    openapi.set_defaults(func=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
