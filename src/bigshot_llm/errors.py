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

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the envelope."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(GatewayError):
    status_code = 400
    code = "bad_request"
    openai_type = "invalid_request_error"


class ContextLengthExceeded(BadRequest):
    code = "context_length_exceeded"


class Unauthorized(GatewayError):
    status_code = 401
    code = "unauthorized"
    openai_type = "authentication_error"


class Forbidden(GatewayError):
    status_code = 403
    code = "forbidden"
    openai_type = "permission_error"


class NotFound(GatewayError):
    status_code = 404
    code = "not_found"
    openai_type = "invalid_request_error"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(GatewayError):
    status_code = 409
    code = "conflict"
    openai_type = "invalid_request_error"


class RequestTimeout(GatewayError):
    """The client took too long to send its request (headers or body)."""

    status_code = 408
    code = "request_timeout"
    openai_type = "invalid_request_error"


class PayloadTooLarge(GatewayError):
    status_code = 413
    code = "payload_too_large"
    openai_type = "invalid_request_error"


class UnsupportedMediaType(GatewayError):
    status_code = 415
    code = "unsupported_media_type"
    openai_type = "invalid_request_error"


class RequestValidationFailed(GatewayError):
    status_code = 422
    code = "validation_error"
    openai_type = "invalid_request_error"


class RateLimited(GatewayError):
    status_code = 429
    code = "rate_limited"
    openai_type = "rate_limit_error"


class ServiceUnavailable(GatewayError):
    status_code = 503
    code = "service_unavailable"


class UpstreamError(GatewayError):
    """The provider answered something we cannot use."""

    status_code = 502
    code = "bad_upstream_response"


class UpstreamRejected(UpstreamError):
    """The provider refused the request with a 4xx; the status is kept."""

    status_code = 400
    code = "upstream_error"
    openai_type = "invalid_request_error"


class ProviderUnavailable(UpstreamError):
    status_code = 503
    code = "provider_unavailable"


class ProviderBusy(UpstreamError):
    """Every connection the provider may use is busy and none came free in time.

    Not a `ProviderUnavailable`: the provider is up (a pool must not mark it down), only
    saturated by this gateway's own requests.
    """

    status_code = 503
    code = "provider_busy"


class ProviderTimeout(UpstreamError):
    status_code = 504
    code = "provider_timeout"
    openai_type = "timeout"
