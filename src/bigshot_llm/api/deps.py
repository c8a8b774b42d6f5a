"""FastAPI dependencies: the app state, a database session, and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.errors import Forbidden, RateLimited, Unauthorized
from bigshot_llm.services.app_state import AppState
from bigshot_llm.services.auth import Principal


async def get_state(request: Request) -> AppState:
    return request.app.state.bigshot  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer`` or ``X-API-Key``."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


async def current_principal(request: Request, state: StateDep) -> Principal:
    key = presented_key(request)
    if not key:
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    limits = request.app.state.rate_limits
    address = request.client.host if request.client else "unknown"
    principal = await state.auth.resolve(key) if len(key) <= 200 else None
    if principal is None:
        if await limits.failed_auth_blocked(address):
            raise RateLimited(
                "too many failed authentication attempts from this address; wait a minute",
                headers={"Retry-After": "60"},
            )
        await limits.hit_failed_auth(address)
        raise Unauthorized("invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: CurrentUser) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this action needs an admin key")
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]
