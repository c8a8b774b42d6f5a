"""The caller's web UI preferences: one validated JSON object of at most 16 KiB."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.conversations import Preferences
from bigshot_llm.services.chat import preferences

router = APIRouter(prefix="/api/v1/me", tags=["preferences"])


@router.get("/preferences", response_model=Envelope[Preferences], summary="Your UI preferences")
async def get_preferences(principal: CurrentUser, session: SessionDep) -> Response:
    return ok(await preferences.get(session, principal.user_id))


@router.put(
    "/preferences",
    response_model=Envelope[Preferences],
    summary="Replace your UI preferences (unknown keys are refused)",
)
async def put_preferences(
    body: Preferences, principal: CurrentUser, session: SessionDep
) -> Response:
    return ok(await preferences.replace(session, principal.user_id, body))
