"""Dependencies that apply the request-rate limit and the concurrent-stream cap."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bigshot_llm.api.deps import CurrentUser
from bigshot_llm.services.auth import Principal


async def enforce_rate_limit(request: Request, principal: CurrentUser) -> Principal:
    """Count this request against the caller's key; 429 past the limit."""
    limits = request.app.state.rate_limits
    state = await limits.hit_key(principal, principal.rate_limit_per_minute)
    if state is not None:
        request.scope.setdefault("state", {})["rate_limit_headers"] = state.headers()
    return principal


RateLimitedUser = Annotated[Principal, Depends(enforce_rate_limit)]


def stream_limit(request: Request, principal: Principal) -> int | None:
    if principal.max_streams is not None:
        return principal.max_streams or None  # 0 means unlimited
    settings = request.app.state.settings
    return None if principal.is_admin else settings.max_streams_user
