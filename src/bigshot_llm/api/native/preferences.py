"""The caller's web UI preferences: one validated JSON object of at most 16 KiB."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, SessionDep
from bigshot_llm.api.responses import dumps, ok
from bigshot_llm.db.models import UserPreference, utcnow
from bigshot_llm.errors import PayloadTooLarge
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.conversations import MAX_PREFERENCES_BYTES, Preferences

router = APIRouter(prefix="/api/v1/me", tags=["preferences"])


@router.get("/preferences", response_model=Envelope[Preferences], summary="Your UI preferences")
async def get_preferences(principal: CurrentUser, session: SessionDep) -> Response:
    row = await session.get(UserPreference, principal.user_id)
    return ok(row.data if row else {})


@router.put(
    "/preferences",
    response_model=Envelope[Preferences],
    summary="Replace your UI preferences (unknown keys are refused)",
)
async def put_preferences(
    body: Preferences, principal: CurrentUser, session: SessionDep
) -> Response:
    data = body.model_dump(exclude_none=True)
    if len(dumps(data)) > MAX_PREFERENCES_BYTES:
        raise PayloadTooLarge(f"preferences are limited to {MAX_PREFERENCES_BYTES} bytes of JSON")
    row = await session.get(UserPreference, principal.user_id)
    if row is None:
        row = UserPreference(user_id=principal.user_id, data=data)
    else:
        row.data = data
        row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return ok(data)
