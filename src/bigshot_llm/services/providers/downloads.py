"""Model downloads on LM Studio (`/api/v1/models/download` and its status endpoint), for admins.

Downloads fill a shared server's disk, so only admins may start them; the job's progress is
read back from LM Studio (`downloaded_bytes / total_size_bytes`).
"""

from __future__ import annotations

from typing import Any

from bigshot_llm.errors import Conflict
from bigshot_llm.schemas.gpu import DownloadJob
from bigshot_llm.services.generation.routing import Target


def _downloader(target: Target) -> Any:
    provider = target.provider
    if not callable(getattr(provider, "download_model", None)):
        raise Conflict(
            f"provider '{target.record.name}' ({target.record.kind}) cannot download models; "
            "a single LM Studio server (not a pool) can",
            code="not_supported",
        )
    return provider


def job(answer: dict[str, Any]) -> DownloadJob:
    total, done = answer.get("total_size_bytes"), answer.get("downloaded_bytes")
    progress = None
    if answer.get("status") in ("completed", "already_downloaded"):
        progress = 1.0
    elif isinstance(total, int) and total > 0 and isinstance(done, int):
        progress = round(min(done / total, 1.0), 4)
    fields = {name: answer.get(name) for name in DownloadJob.model_fields if name in answer}
    return DownloadJob(
        **{**fields, "status": str(answer.get("status") or "unknown")}, progress=progress
    )


async def start(target: Target, model: str, quantization: str | None) -> DownloadJob:
    return job(await _downloader(target).download_model(model, quantization))


async def status(target: Target, job_id: str) -> DownloadJob:
    return job(await _downloader(target).download_status(job_id))
