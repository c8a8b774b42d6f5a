"""Helpers shared by the simulator's endpoints: state access, JSON bodies, error shapes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from bigshot_llm.sim.state import FaultSpec, SimState

NO_MODELS_LOADED = (
    "No models loaded. Please load a model in the developer page or use the `lms load` command."
)


class JSON(Response):
    """orjson-encoded JSON response."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def get_state(request: Request) -> SimState:
    """The :class:`SimState` the app was built with."""
    state: SimState = request.app.state.sim
    return state


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSON:
    """``{"error": {"message", "type", "param", "code"}}``."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSON(body, status_code=status, headers=headers)


def v1_error(status: int, message: str, *, code: str, param: str | None = None) -> JSON:
    """LM Studio REST v1 error: ``{"error": {"type", "message", "code", "param"}}``."""
    body = {"error": {"type": "invalid_request", "message": message, "code": code, "param": param}}
    return JSON(body, status_code=status)


def bare_error(status: int, message: str) -> JSON:
    """LM Studio's bare-string error: ``{"error": "..."}``."""
    return JSON({"error": message}, status_code=status)


def http_fault_response(fault: FaultSpec) -> JSON:
    """The answer for the ``http_500`` / ``http_503`` faults."""
    if fault.name == "http_503":
        return openai_error(
            503,
            "Service temporarily unavailable (simulated)",
            type_="server_error",
            code="service_unavailable",
            headers={"Retry-After": "1"},
        )
    return openai_error(
        500, "Internal server error (simulated)", type_="server_error", code="internal_error"
    )


async def read_json(request: Request) -> dict[str, Any] | JSON:
    """The JSON object body, or a 400 OpenAI-style error response. Records the body."""
    state = get_state(request)
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        state.last_request_body = raw.decode("utf-8", "replace")
        return openai_error(400, "Invalid JSON in request body", code="invalid_json")
    state.last_request_body = body
    if not isinstance(body, dict):
        return openai_error(400, "Request body must be a JSON object", code="invalid_json")
    return body


def model_not_found(key: str) -> JSON:
    """REST v1's 404 for a model the catalogue does not hold."""
    return v1_error(404, f"Model '{key}' not found", code="model_not_found", param="model")


async def v1_request(
    request: Request, field: str = "model", *, param: str | None = "model"
) -> tuple[SimState, dict[str, Any], str] | JSON:
    """A REST v1 request that names something: the state, the JSON body and its non-empty
    string ``field``; or the error answer (``param`` is what a missing ``field`` names)."""
    state = get_state(request)
    body = await read_json(request)
    if isinstance(body, JSON):
        return body
    value = body.get(field)
    if not isinstance(value, str) or not value:
        return v1_error(400, f"'{field}' is required", code="invalid_request", param=param)
    return state, body, value
