"""Quotas: an admin's limit of tokens, GPU-seconds or requests per UTC day or month, set on a
user (all their keys together) or on one API key."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from bigshot_llm.schemas.base import Strict

QuotaSubject = Literal["user", "key"]
QuotaMetric = Literal["requests", "tokens", "gpu_seconds"]
QuotaPeriod = Literal["day", "month"]
MAX_LIMIT = 1e15


class QuotaCreate(Strict):
    subject: QuotaSubject = Field(description="user: all the user's keys together; key: one key")
    subject_id: str = Field(min_length=1, max_length=32, description="the user's or key's id")
    metric: QuotaMetric
    period: QuotaPeriod = Field(description="UTC day, or calendar month (UTC)")
    limit: float = Field(gt=0, le=MAX_LIMIT, description="tokens, GPU-seconds or requests")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("metric") == "requests" and value != "day":
            raise ValueError("requests are counted per day only")
        return value

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: float, info: ValidationInfo) -> float:
        metric = info.data.get("metric")
        if metric in ("requests", "tokens") and not float(value).is_integer():
            raise ValueError(f"{metric} are counted in whole numbers")
        return value


class QuotaUpdate(Strict):
    limit: float = Field(gt=0, le=MAX_LIMIT)


class QuotaPublic(BaseModel):
    id: str
    subject: QuotaSubject
    subject_id: str
    subject_name: str | None = Field(None, description="the user's name, or the key's")
    metric: QuotaMetric
    period: QuotaPeriod
    limit: float
    used: float | None = Field(None, description="this period so far (null: unavailable)")
    resets_at: datetime
    created_at: datetime
    updated_at: datetime


class QuotaUsage(BaseModel):
    """One of the caller's own quotas (their user's or their key's) and its use."""

    id: str
    subject: QuotaSubject
    metric: QuotaMetric
    period: QuotaPeriod
    limit: float
    used: float | None = Field(None, description="this period so far (null: unavailable)")
    remaining: float | None = None
    resets_at: datetime
