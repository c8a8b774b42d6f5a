"""Webhooks: registering receivers of gateway events, and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from bigshot_llm.schemas.base import Strict

EVENTS = (
    "provider.up",
    "provider.down",
    "model.loaded",
    "model.unloaded",
    "config.changed",
    "usage.threshold",
)
"""Every event a webhook can subscribe to."""

Url = Annotated[str, Field(min_length=8, max_length=2048)]
Events = Annotated[list[str], Field(min_length=1, max_length=len(EVENTS))]
Threshold = Annotated[int | None, Field(ge=1, le=10**12)]


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


def _events(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - set(EVENTS))
    if unknown:
        raise ValueError(f"unknown events {unknown}; known: {', '.join(EVENTS)}")
    return sorted(set(value))


class WebhookCreate(Strict):
    url: Url
    events: Events
    description: str | None = Field(None, max_length=200)
    enabled: bool = True
    usage_threshold_tokens: Threshold = Field(
        None, description="for usage.threshold: tokens per key per UTC day"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str]) -> list[str]:
        return _events(value)


class WebhookUpdate(Strict):
    url: Url | None = None
    events: Events | None = None
    description: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    usage_threshold_tokens: Threshold = None
    rotate_secret: bool = Field(False, description="issue a new secret (shown once)")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _events(value)


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    usage_threshold_tokens: int | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    """The answer that creates a webhook or rotates its secret: the only time it is shown."""

    secret: str = Field(description="the signing secret: keep it")


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
