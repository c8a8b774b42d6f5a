"""API keys, users, the caller's identity and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bigshot_llm.schemas.base import Name, Strict, Trimmed


class KeyCreate(Strict):
    name: Name
    user: Trimmed | None = Field(
        None, min_length=1, max_length=100, description="admins only: the key's user (created)"
    )
    role: Literal["admin", "user"] | None = Field(None, description="admins only, for a new user")
    rate_limit_per_minute: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="admins only: a lower limit for this key alone, counted on top of its "
        "user's (which all the user's keys share); null or 0 = none",
    )
    max_streams: int | None = Field(
        None,
        ge=0,
        le=10_000,
        description="admins only: a lower stream cap for this key alone; null or 0 = none",
    )


KeyPriority = Literal["interactive", "normal", "batch"]


class KeyUpdate(Strict):
    name: Name | None = None
    rate_limit_per_minute: int | None = Field(None, ge=0, le=1_000_000)
    max_streams: int | None = Field(None, ge=0, le=10_000)
    priority: KeyPriority | None = Field(
        None,
        description="admins only: the key's class in the GPU queues (null: the surface's; "
        "chat streams and compare are interactive, API calls normal)",
    )


class UserUpdate(Strict):
    """An admin's change to a user's limits, shared by all the user's keys."""

    rate_limit_per_minute: int | None = Field(
        None, ge=0, le=1_000_000, description="null = the role's default; 0 = unlimited"
    )
    max_streams: int | None = Field(
        None, ge=0, le=10_000, description="null = the role's default; 0 = unlimited"
    )


class UserPublic(BaseModel):
    id: str
    name: str
    role: str
    created_at: datetime
    rate_limit_per_minute: int | None = None
    max_streams: int | None = None


class KeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    user_id: str
    user_name: str | None = None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    rate_limit_per_minute: int | None = None
    max_streams: int | None = None
    priority: str | None = None


class KeyCreated(KeyPublic):
    key: str = Field(description="shown once; store it now")


class Me(BaseModel):
    user_id: str
    name: str
    role: str
    key_id: str


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor_id: str | None
    actor_name: str | None
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
