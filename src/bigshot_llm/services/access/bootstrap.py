"""First-start set-up: the first admin key and the provider from the environment."""

from __future__ import annotations

import logging
import sys

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import ApiKey, User
from bigshot_llm.providers.urls import normalize_base_url
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import create_key, hash_key
from bigshot_llm.services.access.secrets import SecretBox
from bigshot_llm.services.providers.configs import bootstrap_default_provider
from bigshot_llm.services.providers.registry import ProviderRegistry
from bigshot_llm.settings import Settings

log = logging.getLogger(__name__)


Sessions = async_sessionmaker[AsyncSession]


async def ensure_admin(sessions: Sessions, wanted: str | None) -> str | None:
    """Create the first admin when there is none; returns the clear key if one was generated.

    With `BIGSHOT_BOOTSTRAP_ADMIN_KEY` set, that key is used and nothing is printed.
    """
    async with sessions() as session:
        admin = (await session.exec(select(User).where(col(User.role) == "admin"))).first()
        if admin is not None:
            return None
        try:
            user = (await session.exec(select(User).where(col(User.name) == "admin"))).first()
            if user is None:
                user = User(name="admin", role="admin")
                session.add(user)
                await session.flush()
            else:
                user.role = "admin"

            if wanted:
                existing = (
                    await session.exec(
                        select(ApiKey).where(col(ApiKey.key_hash) == hash_key(wanted))
                    )
                ).first()
                if existing is None:
                    await create_key(session, user, "bootstrap", key=wanted)
                clear = None
            else:
                _, clear = await create_key(session, user, "bootstrap")
            audit.record(session, None, "user.bootstrap_admin", "user", user.id)
            await session.commit()
        except IntegrityError:  # another worker won the race
            await session.rollback()
            return None
    return clear


async def ensure_default_provider(
    settings: Settings, sessions: Sessions, registry: ProviderRegistry, box: SecretBox
) -> None:
    key: str | None
    if settings.llm_provider == "lmstudio":
        kind, base, key = "lmstudio", settings.lmstudio_api_base, settings.lmstudio_api_key
        model = settings.lmstudio_model
    else:
        kind, base, key = "openai", settings.openai_api_base, settings.openai_api_key
        model = None
    async with sessions() as session:
        try:
            await bootstrap_default_provider(
                session,
                registry,
                box,
                kind=kind,
                base_url=normalize_base_url(base),
                api_key=key,
                default_model=model,
            )
        except IntegrityError:
            await session.rollback()
            await registry.reload()


def announce_admin_key(key: str, ui_base: str) -> None:
    """Print the generated key once, with a link that signs the browser in (URL fragment)."""
    lines = [
        "",
        "=" * 72,
        "  bigshot-llm: first start. Your admin API key (shown only this once):",
        f"    {key}",
        f"  Open the UI signed in:  {ui_base}/#key={key}",
        "=" * 72,
        "",
    ]
    print("\n".join(lines), file=sys.stdout, flush=True)


async def prepare(
    settings: Settings,
    engine: AsyncEngine,
    sessions: Sessions,
    registry: ProviderRegistry,
    box: SecretBox,
    *,
    migrate_first: bool,
    ui_base: str,
) -> None:
    """Start-up set-up shared by the CLI and the app: migrate, load configs, first-start."""
    from bigshot_llm.db import migrate

    if migrate_first:
        await migrate.upgrade(engine)
    await registry.reload()
    await ensure_default_provider(settings, sessions, registry, box)
    clear = await ensure_admin(sessions, settings.bootstrap_admin_key)
    if clear:
        announce_admin_key(clear, ui_base)
