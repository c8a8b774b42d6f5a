"""What the web UI remembers for a user: one validated JSON object of at most 16 KiB."""

from __future__ import annotations

from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import UserPreference, utcnow
from bigshot_llm.errors import PayloadTooLarge
from bigshot_llm.schemas.conversations import MAX_PREFERENCES_BYTES, Preferences


def _shown(data: dict[str, Any]) -> dict[str, Any]:
    """The stored object as the schema describes it (only the keys that are set)."""
    return Preferences.model_validate(data).model_dump(exclude_none=True)


async def get(session: AsyncSession, user_id: str) -> dict[str, Any]:
    row = await session.get(UserPreference, user_id)
    return _shown(row.data) if row else {}


async def replace(session: AsyncSession, user_id: str, body: Preferences) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    if len(orjson.dumps(data)) > MAX_PREFERENCES_BYTES:
        raise PayloadTooLarge(f"preferences are limited to {MAX_PREFERENCES_BYTES} bytes of JSON")
    row = await session.get(UserPreference, user_id)
    if row is None:
        row = UserPreference(user_id=user_id, data=data)
    else:
        row.data = data
        row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return _shown(data)
