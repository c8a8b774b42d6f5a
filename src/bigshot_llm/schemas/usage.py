"""Usage reports: totals grouped by day, model, provider, key, user or endpoint (up to three);
recent requests. Each total carries tokens, GPU-seconds, queue time, energy and shadow cost."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class UsageTotals(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    errors: int
    cancelled: int
    avg_ttft_ms: float | None
    avg_duration_ms: float | None
    gpu_seconds: float = Field(description="the requests' shares of their instances' time")
    queue_ms: float | None = Field(None, description="total wait for a GPU slot")
    avg_queue_ms: float | None = None
    energy_wh: float | None = Field(
        None, description="Wh from the providers' watts_per_instance (null: none declared)"
    )
    shadow_cost: float | None = Field(
        None, description="USD at the models' declared shadow prices (null: none declared)"
    )


class UsageGroup(UsageTotals):
    """Totals of one group; only the grouped-by fields are present."""

    day: str | None = None
    model: str | None = None
    provider: str | None = None
    key: str | None = None
    key_name: str | None = None
    user: str | None = None
    user_name: str | None = None
    endpoint: str | None = None


class UsageReport(BaseModel):
    group_by: list[str]
    since: datetime
    until: datetime
    groups: list[UsageGroup]
    totals: UsageTotals


class UsageRecordPublic(BaseModel):
    id: int
    at: datetime
    user_id: str
    key_id: str | None
    provider_id: str | None
    provider: str | None
    model: str | None
    endpoint: str
    streamed: bool
    status: str
    prompt_tokens: int
    completion_tokens: int
    estimated: bool
    ttft_ms: float | None
    duration_ms: float | None
    gpu_seconds: float = 0.0
    queue_ms: float | None = None
    energy_wh: float | None = None
    shadow_cost: float | None = None


class RecentUsage(BaseModel):
    items: list[UsageRecordPublic]
