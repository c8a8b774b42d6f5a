"""Model aliases: create, update and the public view (`/api/v1/llm-providers/aliases`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bigshot_llm.schemas.base import Strict, Trimmed

ALIAS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]*\*?$")
MAX_ALIAS_NAME = 128
NAME_RULE = (
    "letters, digits and . _ : @ + - only, starting with a letter or digit; a final '*' "
    "makes it a prefix (claude-*); no '/' (provider-name/model routes to a provider)"
)


def _check_name(value: str | None) -> str | None:
    if value is not None and not ALIAS_NAME.fullmatch(value):
        raise ValueError(NAME_RULE)
    return value


def _check_model(value: str | None) -> str | None:
    if value is not None and any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain control characters")
    return value


class _AliasFields(Strict):
    _name = field_validator("name", check_fields=False)(_check_name)
    _model = field_validator("model", check_fields=False)(_check_model)


class AliasCreate(_AliasFields):
    name: Trimmed = Field(
        min_length=1, max_length=MAX_ALIAS_NAME, examples=["claude-sonnet-4-5", "claude-*"]
    )
    provider_id: Trimmed = Field(
        min_length=1, max_length=100, description="the target provider: its id (or name)"
    )
    model: Trimmed = Field(
        min_length=1, max_length=256, description="the model id as that provider knows it"
    )
    scope: Literal["global", "user"] | None = Field(
        None, description="global (admins only; the default for admins) or user (your own)"
    )
    owner_id: Trimmed | None = Field(
        None,
        max_length=32,
        description="admins: the user whose own alias this is (a per-user override)",
    )


class AliasUpdate(_AliasFields):
    name: Trimmed | None = Field(None, min_length=1, max_length=MAX_ALIAS_NAME)
    provider_id: Trimmed | None = Field(None, min_length=1, max_length=100)
    model: Trimmed | None = Field(None, min_length=1, max_length=256)


class AliasPublic(BaseModel):
    id: str
    name: str
    scope: Literal["global", "user"]
    owner_id: str | None
    provider_id: str
    provider_name: str | None = Field(description="None: the provider is gone")
    model: str
    target: str | None = Field(
        description="`provider-name/model`, what the alias stands for", examples=["Local/qwen3"]
    )
    created_at: datetime
    updated_at: datetime


class AliasWritten(AliasPublic):
    warnings: list[str] = Field(
        default_factory=list,
        description="what was not checked: the provider's model list could not be read",
    )


class AliasEntry(BaseModel):
    """An alias in a model listing: what the caller's name resolves to."""

    name: str
    scope: Literal["global", "user", "setting"]
    provider_id: str | None
    provider_name: str | None
    model: str
