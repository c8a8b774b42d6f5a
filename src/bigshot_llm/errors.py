"""The gateway's exception tree, mapped to HTTP in one place.

    GatewayError                      500 internal_error
    ├── BadRequest                    400 bad_request
    │   └── ContextLengthExceeded     400 context_length_exceeded
    ├── Unauthorized                  401 unauthorized
    ├── Forbidden                     403 forbidden
    ├── NotFound                      404 not_found
    │   └── ModelNotFound             404 model_not_found
    ├── Conflict                      409 conflict
    ├── RequestTimeout                408 request_timeout
    ├── PayloadTooLarge               413 payload_too_large
    ├── UnsupportedMediaType          415 unsupported_media_type
    ├── RequestValidationFailed       422 validation_error
    ├── RateLimited                   429 rate_limited
    │   └── QuotaExceeded             429 quota_exceeded
    ├── ServiceUnavailable            503 service_unavailable
    └── UpstreamError                 502 bad_upstream_response
        ├── UpstreamRejected          4xx from upstream, status kept
        ├── ProviderUnavailable       503 provider_unavailable
        ├── ProviderBusy              503 provider_busy
        └── ProviderTimeout           504 provider_timeout

Providers raise these; the API layer renders them (the envelope on ``/api/v1``, OpenAI's error
shape on ``/v1``). Messages must never contain secrets.
"""

from __future__ import annotations

from typing import Any, ClassVar

_INVALID = "invalid_request_error"  # OpenAI's error type for what the client got wrong


class GatewayError(Exception):
    """Base of every error the gateway reports to a client."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    openai_type: ClassVar[str] = "server_error"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        status_code: int | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.param = param
        if code is not None:
            self.code = code  # type: ignore[misc]
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]

    def __init_subclass__(
        cls,
        *,
        status: int | None = None,
        code: str | None = None,
        openai_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        """`class NotFound(GatewayError, status=404, code="not_found")`: one line an error."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code
        if openai_type is not None:
            cls.openai_type = openai_type

    def surface_fields(self) -> dict[str, Any]:
        """Fields every surface adds to its own error object (OpenAI's, Anthropic's)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the envelope."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(GatewayError, status=400, code="bad_request", openai_type=_INVALID): ...


class ContextLengthExceeded(BadRequest, code="context_length_exceeded"): ...


class Unauthorized(
    GatewayError, status=401, code="unauthorized", openai_type="authentication_error"
): ...


class Forbidden(GatewayError, status=403, code="forbidden", openai_type="permission_error"): ...


class NotFound(GatewayError, status=404, code="not_found", openai_type=_INVALID): ...


class ModelNotFound(NotFound, code="model_not_found"): ...


class Conflict(GatewayError, status=409, code="conflict", openai_type=_INVALID): ...


class RequestTimeout(GatewayError, status=408, code="request_timeout", openai_type=_INVALID):
    """The client took too long to send its request (headers or body)."""


class PayloadTooLarge(GatewayError, status=413, code="payload_too_large", openai_type=_INVALID): ...


class UnsupportedMediaType(
    GatewayError, status=415, code="unsupported_media_type", openai_type=_INVALID
): ...


class RequestValidationFailed(
    GatewayError, status=422, code="validation_error", openai_type=_INVALID
): ...


class RateLimited(
    GatewayError, status=429, code="rate_limited", openai_type="rate_limit_error"
): ...


class QuotaExceeded(RateLimited, code="quota_exceeded"):
    """A quota (README "Quotas") is used up until `details["resets_at"]`.

    The details (`quota`, `usage`, `resets_at`) are the envelope's `details` on `/api/v1` and
    fields of the error object on the other surfaces, so every client sees the same facts.
    """

    def surface_fields(self) -> dict[str, Any]:
        return dict(self.details) if isinstance(self.details, dict) else {}


class ServiceUnavailable(GatewayError, status=503, code="service_unavailable"): ...


class UpstreamError(GatewayError, status=502, code="bad_upstream_response"):
    """The provider answered something we cannot use."""


class UpstreamRejected(UpstreamError, status=400, code="upstream_error", openai_type=_INVALID):
    """The provider refused the request with a 4xx; the status is kept."""


class ProviderUnavailable(UpstreamError, status=503, code="provider_unavailable"): ...


class ProviderBusy(UpstreamError, status=503, code="provider_busy"):
    """Every connection the provider may use is busy and none came free in time.

    Not a `ProviderUnavailable`: the provider is up (a pool must not mark it down), only
    saturated by this gateway's own requests.
    """


class ProviderTimeout(
    UpstreamError, status=504, code="provider_timeout", openai_type="timeout"
): ...
