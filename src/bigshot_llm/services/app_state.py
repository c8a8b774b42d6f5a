"""Everything long-lived the app owns, created in the lifespan and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.services.auth import Authenticator
from bigshot_llm.services.provider_registry import ProviderRegistry
from bigshot_llm.services.secrets_box import SecretBox
from bigshot_llm.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    registry: ProviderRegistry
    auth: Authenticator
    extras: dict[str, Any] = field(default_factory=dict)
