"""The shapes every API answer shares: the strict request base, the envelope, pages, errors.

Request models of the native API derive from `Strict` (unknown fields are refused with 422);
the OpenAI-compatible surface's models derive from `Open` (unknown fields pass through).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")

Trimmed = Annotated[str, StringConstraints(strip_whitespace=True)]
"""Text whose surrounding blanks mean nothing (names, ids, titles); prompts stay `str`."""

Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$"
    ),
]
"""The name of a provider, key or user: 1 to 100 characters, no control characters."""


class Strict(BaseModel):
    """Native request models: an unknown field is a 422 naming it."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """OpenAI-compatible request models: unknown fields are kept and forwarded."""

    model_config = ConfigDict(extra="allow")


class Envelope(BaseModel, Generic[T]):
    """Every successful JSON answer: ``{"success": true, "data": ...}``."""

    success: Literal[True] = True
    data: T


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorBody


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorEnvelope(BaseModel):
    """OpenAI's error shape, used on the `/v1` surface."""

    error: OpenAIErrorBody


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class Deleted(BaseModel):
    """The answer to a DELETE: what went."""

    id: str
    deleted: Literal[True] = True
