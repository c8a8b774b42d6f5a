"""First-start set-up: the first admin key and the provider from the environment."""

from __future__ import annotations

import logging
import sys

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bigshot_llm.db.models import ApiKey, User
from bigshot_llm.providers.urls import normalize_base_url
from bigshot_llm.services import audit
from bigshot_llm.services.app_state import AppState
from bigshot_llm.services.auth import create_key, hash_key
from bigshot_llm.services.provider_configs import bootstrap_default_provider

log = logging.getLogger(__name__)


async def ensure_admin(state: AppState) -> str | None:
    """Create the first admin when there is none; returns the clear key if one was generated.

    With `BIGSHOT_BOOTSTRAP_ADMIN_KEY` set, that key is used and nothing is printed.
    """
    async with state.sessions() as session:
        admin = (await session.exec(select(User).where(col(User.role) == "admin"))).first()
        if admin is not None:
            return None
        wanted = state.settings.bootstrap_admin_key
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


async def ensure_default_provider(state: AppState) -> None:
    settings = state.settings
    key: str | None
    if settings.llm_provider == "lmstudio":
        kind, base, key = "lmstudio", settings.lmstudio_api_base, settings.lmstudio_api_key
        model = settings.lmstudio_model
    else:
        kind, base, key = "openai", settings.openai_api_base, settings.openai_api_key
        model = None
    async with state.sessions() as session:
        try:
            await bootstrap_default_provider(
                session,
                state.registry,
                state.box,
                kind=kind,
                base_url=normalize_base_url(base),
                api_key=key,
                default_model=model,
            )
        except IntegrityError:
            await session.rollback()
            await state.registry.reload()


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


async def prepare(state: AppState, *, migrate_first: bool, ui_base: str) -> None:
    """Start-up set-up shared by the CLI and the app: migrate, load configs, first-start."""
    from bigshot_llm.db import migrate

    if migrate_first:
        await migrate.upgrade(state.engine)
    await state.registry.reload()
    await ensure_default_provider(state)
    clear = await ensure_admin(state)
    if clear:
        announce_admin_key(clear, ui_base)
