"""FastAPI dependencies, each behind an `Annotated` alias: the app's resources and the parts
routes use, a database session, the authenticated caller, and the request-rate limit.

`HotCall` is the single dependency of the hot LLM endpoints (see `api.fast_path`): the
request, the rate-limited caller and the resources, built by FastAPI through `hot_call` or
by the fast path directly, so both paths hand the endpoint the very same object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.errors import Forbidden, RateLimited, Unauthorized
from bigshot_llm.resources import Resources
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.chat.streams import StreamManager
from bigshot_llm.services.compare import CompareService
from bigshot_llm.services.generation.routing import Router
from bigshot_llm.services.generation.service import GenerationService
from bigshot_llm.services.providers.configs import ProviderConfigService


def resources_of(request: Request) -> Resources:
    """The app's resources (built by the lifespan)."""
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(resources_of)]


def _router(resources: ResourcesDep) -> Router:
    return resources.router


def _generation(resources: ResourcesDep) -> GenerationService:
    return resources.generation


def _streams(resources: ResourcesDep) -> StreamManager:
    return resources.streams


def _compare(resources: ResourcesDep) -> CompareService:
    return resources.compare


RouterDep = Annotated[Router, Depends(_router)]
GenerationDep = Annotated[GenerationService, Depends(_generation)]
StreamsDep = Annotated[StreamManager, Depends(_streams)]
CompareDep = Annotated[CompareService, Depends(_compare)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async with resources.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _configs(session: SessionDep, resources: ResourcesDep) -> ProviderConfigService:
    return ProviderConfigService(
        session,
        resources.registry,
        resources.box,
        allowed_hosts=resources.settings.allowed_upstream_host_set,
        max_providers=resources.settings.max_providers_per_user,
        max_pool_urls=resources.settings.max_pool_urls_per_user,
    )


ConfigsDep = Annotated[ProviderConfigService, Depends(_configs)]


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer`` or ``X-API-Key``."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _blocked(retry_after: float) -> RateLimited:
    seconds = str(max(1, round(retry_after)))
    return RateLimited(
        f"too many failed authentication attempts from this address; retry in {seconds} s",
        headers={"Retry-After": seconds},
    )


async def current_principal(request: Request, resources: ResourcesDep) -> Principal:
    key = presented_key(request)
    if not key:
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    limits = resources.rate_limits
    address = client_address(request)
    principal = await resources.auth.resolve(key) if len(key) <= 200 else None
    # A blocked address gets 429 for every key it has not used before, valid or not: a guesser
    # must not learn which guess was right.
    retry_after = limits.refuses(address, principal)
    if retry_after is not None:
        raise _blocked(retry_after)
    if principal is None:
        # Past the limit (counted by every replica) this raises 429 and blocks the address.
        await limits.hit_failed_auth(address)
        raise Unauthorized("invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    limits.authenticated(address, principal)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: CurrentUser) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this action needs an admin key")
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]


async def apply_rate_limit(
    request: Request, principal: Principal, resources: Resources, cost: int = 1
) -> None:
    """Count this request against the caller's user (and key); 429 past the limit."""
    state = await resources.rate_limits.hit(principal, cost)
    if state is not None:
        request.scope.setdefault("state", {})["rate_limit_headers"] = state.headers()


async def enforce_rate_limit(
    request: Request, principal: CurrentUser, resources: ResourcesDep
) -> Principal:
    await apply_rate_limit(request, principal, resources)
    return principal


RateLimitedUser = Annotated[Principal, Depends(enforce_rate_limit)]


@dataclass(frozen=True, slots=True)
class HotCall:
    """What a hot endpoint gets: the request, its rate-limited caller, the resources."""

    request: Request
    principal: Principal
    resources: Resources


async def hot_call(
    request: Request, principal: RateLimitedUser, resources: ResourcesDep
) -> HotCall:
    return HotCall(request, principal, resources)


HotCallDep = Annotated[HotCall, Depends(hot_call)]

ProviderQuery = Annotated[
    str | None, Query(max_length=100, description="provider id or name; default: active")
]
