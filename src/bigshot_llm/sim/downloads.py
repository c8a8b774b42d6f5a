"""Download jobs: ``POST /api/v1/models/download`` and ``GET …/download/status/{job_id}``.

A job for a model already in the catalogue answers ``already_downloaded``. Any other name
downloads ``download_size_bytes`` at ``download_bytes_per_second`` (progress follows the
clock) and then joins the catalogue as an LLM, so it can be loaded.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bigshot_llm.sim.common import JSON, get_state, v1_error, v1_request
from bigshot_llm.sim.state import SimState


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def job_status(state: SimState, job: dict[str, Any]) -> dict[str, Any]:
    """The job as LM Studio reports it now (completing it when its time has come)."""
    if job["status"] == "already_downloaded":
        return dict(job)
    speed = max(state.download_bytes_per_second, 1.0)
    total = job["total_size_bytes"]
    elapsed = time.time() - job["_started"]
    done = min(int(elapsed * speed), total)
    answer = {k: v for k, v in job.items() if not k.startswith("_")}
    answer.update(downloaded_bytes=done, bytes_per_second=speed)
    if done >= total:
        answer.update(status="completed", completed_at=_iso(job["_started"] + total / speed))
        _add_to_catalogue(state, job["_model"])
    else:
        answer["estimated_completion"] = _iso(job["_started"] + total / speed)
    return answer


def _add_to_catalogue(state: SimState, key: str) -> None:
    with state._lock:
        if state.get_model(key) is not None:
            return
        template = state.models[0]
        state.models = [
            *state.models,
            replace(template, key=key, display_name=key, publisher=key.split("/")[0]),
        ]


async def download_model(request: Request) -> Response:
    named = await v1_request(request)
    if isinstance(named, Response):
        return named
    state, _, key = named
    now = time.time()
    job_id = f"job_{uuid.uuid4().hex[:12]}"
    job: dict[str, Any] = {
        "job_id": job_id,
        "started_at": _iso(now),
        "_started": now,
        "_model": key,
    }
    if state.get_model(key) is not None:
        job.update(status="already_downloaded", total_size_bytes=0)
    else:
        job.update(status="downloading", total_size_bytes=state.download_size_bytes)
    state.downloads = {**state.downloads, job_id: job}
    return JSON(job_status(state, job))


async def download_status(request: Request) -> Response:
    state = get_state(request)
    job = state.downloads.get(request.path_params["job_id"])
    if job is None:
        return v1_error(404, "No such download job", code="not_found", param="job_id")
    return JSON(job_status(state, job))
