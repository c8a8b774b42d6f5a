"""Which exceptions mean "the database is unreachable right now" (a restart, a network cut, a
timeout): the API answers those with 503 `database_unavailable`, and the services that keep
last known state (keys, provider configs) serve it instead of failing."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from bigshot_llm.errors import ServiceUnavailable


def is_database_outage(exc: BaseException) -> bool:
    """A lost, refused or timed-out database connection: 503, not 500.

    asyncpg lets a refused connect through as a bare OSError and a command timeout as
    `TimeoutError` (an OSError too); SQLAlchemy wraps the rest.
    """
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return isinstance(exc, sa_exc.TimeoutError | OSError)


def database_unavailable(
    message: str = "the database is unavailable; try again shortly",
) -> ServiceUnavailable:
    """The one answer to a database outage (503, code `database_unavailable`)."""
    return ServiceUnavailable(message, code="database_unavailable", headers={"Retry-After": "2"})
