"""Sharing GPUs: capacity reports, and model downloads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bigshot_llm.schemas.base import Strict


class InstanceCapacity(BaseModel):
    id: str = Field(description="the loaded instance (`key`, `key:2`, …)")
    server: str = Field(description="the server (a pool member's URL)")
    slots: int
    in_use: int = Field(description="slots this gateway process holds")
    reported: bool = Field(description="slots reported by the server (else the setting)")


class ModelCapacity(BaseModel):
    provider: str
    model: str
    slots: int = Field(description="over every instance and pool member")
    in_use: int
    queued: int
    estimate_seconds: float = Field(description="until the last queued request starts")
    instances: list[InstanceCapacity]


class DownloadRequest(Strict):
    quantization: str | None = Field(None, max_length=64, description="e.g. Q4_K_M")


class DownloadJob(BaseModel):
    """LM Studio's download job, as `/api/v1/models/download[/status]` reports it."""

    job_id: str | None = None
    status: str = Field(description="downloading, paused, completed, failed, already_downloaded")
    total_size_bytes: int | None = None
    downloaded_bytes: int | None = None
    bytes_per_second: float | None = None
    estimated_completion: Any = None
    started_at: Any = None
    completed_at: Any = None
    progress: float | None = Field(None, description="downloaded / total, 0–1")
