"""The caller's web UI preferences: one validated JSON object of at most 16 KiB."""

from __future__ import annotations

from starlette.responses import Response

from bigshot_llm.api.deps import CurrentUser, SessionDep
from bigshot_llm.api.responses import ok
from bigshot_llm.api.routing import api_router
from bigshot_llm.schemas.base import Envelope
from bigshot_llm.schemas.conversations import Preferences
from bigshot_llm.services.chat import preferences

router = api_router("/api/v1/me", tags=["preferences"])


@router.get("/preferences", response_model=Envelope[Preferences])
async def get_preferences(principal: CurrentUser, session: SessionDep) -> Response:
    """Your UI preferences"""
    return ok(await preferences.get(session, principal.user_id))


@router.put("/preferences", response_model=Envelope[Preferences])
async def put_preferences(
    body: Preferences, principal: CurrentUser, session: SessionDep
) -> Response:
    """Replace your UI preferences (unknown keys are refused)"""
    return ok(await preferences.replace(session, principal.user_id, body))
