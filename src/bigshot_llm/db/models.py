"""SQLModel tables. Timestamps are timezone-aware UTC; ids are random hex strings.

The `scope` column of provider configs and selections is the owner's user id, or "global":
SQL treats NULLs as distinct, so a nullable owner alone could not make names unique per owner.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

GLOBAL_SCOPE = "global"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every database (SQLite drops the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def _ts(nullable: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(UTCDateTime(), nullable=nullable),
    )


def _new_id() -> Any:
    """A row's own id: a new uuid4 hex."""
    return Field(default_factory=new_id, primary_key=True, max_length=32)


def _user_id(*, nullable: bool = False, **column: Any) -> Any:
    """A user's id, deleted with the user (`column`: index, primary_key)."""
    users = ForeignKey("users.id", ondelete="CASCADE")
    sa_column = Column(String(32), users, nullable=nullable, **column)
    return Field(default=None, sa_column=sa_column) if nullable else Field(sa_column=sa_column)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = _new_id()
    name: str = Field(index=True, unique=True, max_length=100)
    role: str = Field(default="user", max_length=16)  # admin | user
    created_at: datetime = _ts()
    # 0007: the user's own limits, counted over all their keys. None: the role's default;
    # 0: unlimited. A key's own limit (below) only lowers them for that key.
    rate_limit_per_minute: int | None = Field(default=None)
    max_streams: int | None = Field(default=None)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = _new_id()
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=24)
    key_hash: str = Field(index=True, unique=True, max_length=64)
    user_id: str = _user_id(index=True)
    created_at: datetime = _ts()
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    # A lower limit for this key alone, counted on top of its user's. None or 0: none.
    rate_limit_per_minute: int | None = Field(default=None)
    max_streams: int | None = Field(default=None)
    # 0009: the key's class in the GPU queues (interactive | normal | batch); None: normal.
    priority: str | None = Field(default=None, max_length=16)


class ProviderConfig(SQLModel, table=True):
    __tablename__ = "provider_configs"
    __table_args__ = (UniqueConstraint("scope", "name", name="uq_provider_scope_name"),)

    id: str = _new_id()
    scope: str = Field(default=GLOBAL_SCOPE, max_length=32, index=True)
    owner_id: str | None = _user_id(nullable=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    base_url: str = Field(max_length=2048)
    api_key_encrypted: str | None = Field(default=None, max_length=4096)
    default_model: str | None = Field(default=None, max_length=256)
    connect_timeout: float = 5.0
    list_timeout: float = 5.0
    read_timeout: float = 600.0
    stream_idle_timeout: float = 300.0
    max_connections: int = 1000  # providers.base.DEFAULT_MAX_CONNECTIONS
    max_keepalive_connections: int = 20
    enabled: bool = True
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    # 0005: loading a model unloads the provider's other LLMs first (one in VRAM at a time).
    exclusive_loading: bool = False
    # 0006: further base URLs serving the same models (a pool with failover); None = one URL.
    pool_urls: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # 0009: how admission spreads a pool's work: member URL → weight, and the order policy.
    pool_weights: dict[str, float] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    pool_order: str = Field(default="balanced", max_length=16)
    # 0016: providers or models tried, in order, when this one fails before the first byte:
    # [{"provider": name or id or null, "model": id or null}, …]; None = no fallbacks.
    fallbacks: list[dict[str, str | None]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # 0007: an inline <think> block is reasoning (None: on for LM Studio); /v1 answers are
    # repaired (LM Studio's tool-call quirks, <think>) instead of relayed byte for byte.
    split_think_tags: bool | None = Field(default=None, nullable=True)
    repair_v1: bool = False
    # 0012: accounting. The power one busy instance draws (energy = GPU-seconds × watts), and
    # per model id a shadow price {input_per_mtok, output_per_mtok} in USD per million tokens.
    watts_per_instance: float | None = Field(default=None, nullable=True)
    model_prices: dict[str, dict[str, float]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # 0015: whether /v1/messages and /v1/responses are forwarded as they are (auto: LM Studio,
    # probed once), or translated to chat completions (off).
    native_apis: str = Field(default="auto", max_length=8)


class ProviderSelection(SQLModel, table=True):
    """The active provider of a scope ("global" or a user id); a user's overrides the global."""

    __tablename__ = "provider_selections"

    scope: str = Field(primary_key=True, max_length=32)
    provider_id: str = Field(
        sa_column=Column(
            String(32), ForeignKey("provider_configs.id", ondelete="CASCADE"), nullable=False
        )
    )
    updated_at: datetime = _ts()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(UTCDateTime(), index=True, nullable=False),
    )
    actor_id: str | None = Field(default=None, max_length=32, index=True)
    actor_name: str | None = Field(default=None, max_length=100)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=40)
    target_id: str | None = Field(default=None, max_length=64, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


# ---- conversations (0002) ------------------------------------------------------------------


class Conversation(SQLModel, table=True):
    """A user's private chat history; `settings` holds temperature, max_tokens and system."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_owner_updated", "owner_id", "updated_at"),)

    id: str = _new_id()
    owner_id: str = _user_id()
    title: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=256)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    # 0011: the last message of the branch on show (messages form a tree through parent_id:
    # a regenerated answer or an edited question is a sibling of the one it replaces).
    head_message_id: str | None = Field(default=None, max_length=32)


class Message(SQLModel, table=True):
    """One turn of a conversation; assistant turns carry usage, stats and maybe an error."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at"),)

    id: str = _new_id()
    conversation_id: str = Field(
        sa_column=Column(
            String(32), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        )
    )
    role: str = Field(max_length=16)  # system | user | assistant | tool
    content: str = Field(sa_column=Column(Text, nullable=False))  # the text (of every part)
    status: str = Field(default="complete", max_length=16)  # complete | cancelled | error
    model: str | None = Field(default=None, max_length=256)
    usage: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    stats: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts()
    # 0007: the model's reasoning, its tool calls, the call a tool message answers, and the
    # content parts (text and images as data URLs) when a message has more than text.
    reasoning: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    tool_calls: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    tool_call_id: str | None = Field(default=None, max_length=128)
    parts: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # 0011: the message this one follows (None: the first of a branch from the start).
    parent_id: str | None = Field(default=None, max_length=32)


class UserPreference(SQLModel, table=True):
    """The web UI's settings of one user (validated JSON, at most 16 KiB)."""

    __tablename__ = "user_preferences"

    user_id: str = _user_id(primary_key=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()


# ---- model comparisons (0005) --------------------------------------------------------------


class Comparison(SQLModel, table=True):
    """One prompt answered by 2–4 provider/model targets side by side, with each one's result."""

    __tablename__ = "comparisons"
    __table_args__ = (Index("ix_comparisons_owner_created", "owner_id", "created_at"),)

    id: str = _new_id()
    owner_id: str = _user_id()
    prompt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    messages: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    targets: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    results: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(default="running", max_length=16)  # running | complete | cancelled
    created_at: datetime = _ts()


# ---- usage and webhooks (0004) -------------------------------------------------------------


class UsageRecord(SQLModel, table=True):
    """One finished LLM request: who, which provider/model/endpoint, tokens, timings, outcome.

    No foreign keys: usage outlives revoked keys and is written in batches off the hot path.
    """

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_at", "at"),
        Index("ix_usage_records_user_at", "user_id", "at"),
        Index("ix_usage_records_key_at", "key_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    user_id: str = Field(max_length=32)
    key_id: str | None = Field(default=None, max_length=32)
    provider_id: str | None = Field(default=None, max_length=32)
    provider: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=256)
    endpoint: str = Field(max_length=100)
    streamed: bool = False
    status: str = Field(default="ok", max_length=64)  # ok | an error code | cancelled
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    ttft_ms: float | None = None
    duration_ms: float | None = None
    # 0012: the request's share of its instance's slot time (1/n of each second it ran
    # alongside n-1 others), its wait for a GPU slot, and the energy (Wh) and shadow cost
    # (USD) from the provider's watts and the model's price when it was recorded.
    gpu_seconds: float = 0.0
    queue_ms: float | None = None
    energy_wh: float | None = None
    shadow_cost: float | None = None


class Webhook(SQLModel, table=True):
    """An admin-registered receiver of gateway events; its secret is stored encrypted."""

    __tablename__ = "webhooks"

    id: str = _new_id()
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_encrypted: str = Field(max_length=4096)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool = True
    usage_threshold_tokens: int | None = Field(default=None)  # per key per UTC day
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: the exact body sent, and where its retries stand."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
    )

    id: str = _new_id()
    webhook_id: str = Field(
        sa_column=Column(String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    event: str = Field(max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts()
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


# ---- stored Responses API answers (0010) --------------------------------------------------


class StoredResponse(SQLModel, table=True):
    """A `/v1/responses` answer kept for `previous_response_id` and `GET /v1/responses/{id}`.

    `response` is the Response object as sent; `history` the conversation up to and including
    its output in the pipeline's chat-completions shape (without `instructions`, which a
    chained request does not inherit), so any upstream can continue it.
    """

    __tablename__ = "stored_responses"
    __table_args__ = (
        Index("ix_stored_responses_owner", "owner_id"),
        Index("ix_stored_responses_expires", "expires_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    owner_id: str = _user_id()
    model: str | None = Field(default=None, max_length=400)
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    history: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = _ts()
    expires_at: datetime = _ts()


class ModelPreset(SQLModel, table=True):
    """0009: the load options the gateway applies whenever it loads a model (LM Studio's
    `/api/v1/models/load` fields). `scope` is a provider id, or "any" for every provider."""

    __tablename__ = "model_presets"
    __table_args__ = (UniqueConstraint("scope", "model", name="uq_model_preset_scope_model"),)

    id: str = _new_id()
    scope: str = Field(default="any", max_length=32, index=True)
    model: str = Field(max_length=256)
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()


class Quota(SQLModel, table=True):
    """0013: an admin's quota on a user or an API key (README "Quotas").

    `subject_id` is a user's or a key's id, without a foreign key: one column names either, so
    `KeyService` deletes the rows of a revoked key or a deleted user itself. One quota per
    subject, metric and period.
    """

    __tablename__ = "quotas"
    __table_args__ = (
        UniqueConstraint("subject", "subject_id", "metric", "period", name="uq_quota_subject"),
        Index("ix_quotas_subject_id", "subject_id"),
    )

    id: str = _new_id()
    subject: str = Field(max_length=8)  # user | key
    subject_id: str = Field(max_length=32)
    metric: str = Field(max_length=16)  # requests | tokens | gpu_seconds
    period: str = Field(max_length=8)  # day | month (UTC)
    limit: float
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


# ---- model aliases (0014) ------------------------------------------------------------------


class ModelAlias(SQLModel, table=True):
    """A name clients send (`claude-sonnet-4-5`, `default`) for a provider's model.

    `scope` is "global" or the owner's user id (unique names per scope, as for providers); a
    user's alias overrides a global one of the same name. A name ending in `*` matches by
    prefix. Deleting the provider or the owner deletes the alias.
    """

    __tablename__ = "model_aliases"
    __table_args__ = (
        UniqueConstraint("scope", "name", name="uq_model_alias_scope_name"),
        Index("ix_model_aliases_provider", "provider_id"),
    )

    id: str = _new_id()
    scope: str = Field(default=GLOBAL_SCOPE, max_length=32)
    owner_id: str | None = _user_id(nullable=True)
    name: str = Field(max_length=128)
    provider_id: str = Field(
        sa_column=Column(
            String(32), ForeignKey("provider_configs.id", ondelete="CASCADE"), nullable=False
        )
    )
    model: str = Field(max_length=256)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
