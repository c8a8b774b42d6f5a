"""Provider configs: create, update, the public view, activation and reachability tests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bigshot_llm.providers.urls import normalize_base_url
from bigshot_llm.schemas.base import Name, Strict, Trimmed


def _header_safe(value: str | None) -> str | None:
    """An API key becomes an HTTP header: CR, LF, NUL or any other control character would
    make every later call fail (or split the header), so refuse it here with a 422."""
    if value is not None and any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain control characters (CR, LF, NUL, …)")
    return value


PoolWeights = dict[
    Annotated[Trimmed, Field(max_length=2048)], Annotated[float, Field(gt=0, le=1000)]
]
PoolOrder = Literal["balanced", "preference"]
NativeApis = Literal["auto", "on", "off"]


class ModelPrice(Strict):
    """A shadow price: what a chosen cloud model charges, USD per million tokens."""

    input_per_mtok: float = Field(ge=0, le=1_000_000, allow_inf_nan=False)
    output_per_mtok: float = Field(ge=0, le=1_000_000, allow_inf_nan=False)


ModelPrices = dict[Annotated[Trimmed, Field(min_length=1, max_length=256)], ModelPrice]
Watts = Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)]
WATTS_DOC = (
    "the power one busy instance of this provider draws (W): a request's energy is its "
    "GPU-seconds × watts / 3600 Wh"
)
PRICES_DOC = (
    "model id → shadow price {input_per_mtok, output_per_mtok} (USD per million tokens, "
    "e.g. a cloud model's list price): each request's shadow_cost, what it would have cost"
)


class Fallback(Strict):
    """One target to try when the provider fails before the first byte: another provider
    (the same model), another model (on this provider), or both."""

    provider: Name | None = Field(None, description="a provider's name or id (null: this one)")
    model: Trimmed | None = Field(
        None, min_length=1, max_length=256, description="null: the request's model"
    )

    @model_validator(mode="after")
    def _names_something(self) -> Fallback:
        if self.provider is None and self.model is None:
            raise ValueError("a fallback names a provider, a model or both")
        return self


Fallbacks = Annotated[list[Fallback], Field(max_length=8)]


class _ProviderFields(Strict):
    _api_key = field_validator("api_key", check_fields=False)(_header_safe)

    @field_validator("base_url", check_fields=False)
    @classmethod
    def _normalise(cls, value: str | None) -> str | None:
        return None if value is None else normalize_base_url(value)

    @field_validator("pool_urls", check_fields=False)
    @classmethod
    def _normalise_pool(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return None
        urls = [normalize_base_url(url) for url in value]
        return list(dict.fromkeys(urls))  # duplicates would only skew the balancing

    @field_validator("pool_weights", check_fields=False)
    @classmethod
    def _normalise_weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if not value:
            return None
        return {normalize_base_url(url): weight for url, weight in value.items()}

    @field_validator("model_prices", check_fields=False)
    @classmethod
    def _no_empty_prices(cls, value: dict[str, ModelPrice] | None) -> dict[str, ModelPrice] | None:
        return value or None


class ProviderCreate(_ProviderFields):
    name: Name
    kind: Trimmed = Field(
        "lmstudio", min_length=1, max_length=40, description="lmstudio, openai, openai_compatible"
    )
    base_url: Trimmed = Field(max_length=2048, examples=["http://localhost:1234/v1"])
    api_key: Trimmed | None = Field(None, max_length=4096, description="write-only")
    default_model: Trimmed | None = Field(None, max_length=256)
    connect_timeout: float = Field(5.0, gt=0, le=60)
    list_timeout: float = Field(5.0, gt=0, le=60)
    read_timeout: float = Field(600.0, gt=0, le=3600)
    stream_idle_timeout: float = Field(300.0, gt=0, le=3600)
    # Concurrent upstream requests (a stream holds one until it ends); beyond it, a queue.
    max_connections: int = Field(1000, ge=1, le=10_000)
    max_keepalive_connections: int = Field(20, ge=0, le=10_000)
    enabled: bool = True
    exclusive_loading: bool = Field(
        False, description="loading a model unloads this provider's other LLMs first"
    )
    pool_urls: list[Annotated[Trimmed, Field(max_length=2048)]] | None = Field(
        None,
        max_length=32,
        description="more base URLs serving the same models: with base_url they form a pool "
        "(least busy member that has the model, failover before the first byte)",
    )
    split_think_tags: bool | None = Field(
        None,
        description="an inline <think>…</think> at the start of an answer is reasoning, "
        "not answer text (default: on for lmstudio, off otherwise)",
    )
    repair_v1: bool = Field(
        False,
        description="/v1 answers are repaired (empty tool_calls dropped, empty call ids "
        "filled, <think> moved to reasoning_content) instead of relayed byte for byte",
    )
    pool_weights: PoolWeights | None = Field(
        None,
        description="member URL → weight: a member of weight 2 takes twice the share of "
        "generations (members not named weigh 1)",
    )
    native_apis: NativeApis = Field(
        "auto",
        description="the Anthropic Messages and OpenAI Responses APIs: forwarded to the "
        "upstream as they are (on), translated to chat completions (off), or forwarded when "
        "an LM Studio answers them (auto: probed once per provider)",
    )
    pool_order: PoolOrder = Field(
        "balanced",
        description="balanced: the least busy member (by weight); preference: the first "
        "member in order (base_url, then pool_urls) with a free slot",
    )
    watts_per_instance: Watts | None = Field(None, description=WATTS_DOC)
    model_prices: ModelPrices | None = Field(None, max_length=1000, description=PRICES_DOC)
    fallbacks: Fallbacks | None = Field(
        None,
        description="tried in order when this provider refuses or fails before the first "
        "byte (unreachable, 5xx, queue full or timed out, model not loadable)",
    )
    scope: Literal["global", "user"] | None = Field(
        None, description="admins create global configs by default; users always their own"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "LM Studio on this machine",
                    "kind": "lmstudio",
                    "base_url": "http://localhost:1234/v1",
                }
            ]
        },
    )


class ProviderUpdate(_ProviderFields):
    name: Name | None = None
    kind: Trimmed | None = Field(None, min_length=1, max_length=40)
    base_url: Trimmed | None = Field(None, max_length=2048)
    api_key: Trimmed | None = Field(
        None, max_length=4096, description="send the mask back (or omit) to keep the stored key"
    )
    default_model: Trimmed | None = Field(None, max_length=256)
    connect_timeout: float | None = Field(None, gt=0, le=60)
    list_timeout: float | None = Field(None, gt=0, le=60)
    read_timeout: float | None = Field(None, gt=0, le=3600)
    stream_idle_timeout: float | None = Field(None, gt=0, le=3600)
    max_connections: int | None = Field(None, ge=1, le=10_000)
    max_keepalive_connections: int | None = Field(None, ge=0, le=10_000)
    enabled: bool | None = None
    exclusive_loading: bool | None = None
    pool_urls: list[Annotated[Trimmed, Field(max_length=2048)]] | None = Field(
        None, max_length=32, description="null or [] turns the pool off"
    )
    split_think_tags: bool | None = Field(None, description="null: the kind's default")
    repair_v1: bool | None = None
    pool_weights: PoolWeights | None = Field(None, description="null or {} clears them")
    pool_order: PoolOrder | None = None
    watts_per_instance: Watts | None = Field(None, description="null clears it")
    model_prices: ModelPrices | None = Field(
        None, max_length=1000, description="the whole map; null or {} clears it"
    )
    native_apis: NativeApis | None = None
    fallbacks: Fallbacks | None = Field(None, description="null or [] clears them")


class ModelPricePublic(BaseModel):
    input_per_mtok: float
    output_per_mtok: float


class ProviderPublic(BaseModel):
    id: str
    name: str
    provider: str
    kind: str
    base_url: str
    api_key: str | None = Field(None, description="a mask such as …x9Qa, never the key")
    has_api_key: bool
    default_model: str | None
    owner_id: str | None
    scope: Literal["global", "user"]
    connect_timeout: float
    list_timeout: float
    read_timeout: float
    stream_idle_timeout: float
    max_connections: int
    max_keepalive_connections: int
    enabled: bool
    exclusive_loading: bool = False
    pool_urls: list[str] = Field(default_factory=list)
    split_think_tags: bool = False
    repair_v1: bool = False
    pool_weights: dict[str, float] = Field(default_factory=dict)
    pool_order: str = "balanced"
    watts_per_instance: float | None = None
    model_prices: dict[str, ModelPricePublic] = Field(default_factory=dict)
    native_apis: str = "auto"
    fallbacks: list[dict[str, str | None]] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class ActivateRequest(Strict):
    scope: Literal["global", "user"] | None = Field(
        None, description="admins activate globally by default; users for themselves"
    )


class ActiveProvider(BaseModel):
    provider: ProviderPublic | None
    scope: Literal["global", "user"] | None


class ProviderTestResult(BaseModel):
    ok: bool
    latency_ms: float
    model_count: int | None = None
    message: str
    error_code: str | None = None


class ProviderKindPublic(BaseModel):
    kind: str
    description: str
    builtin: bool
    supports_load: bool = Field(description="the provider can load and unload models")
