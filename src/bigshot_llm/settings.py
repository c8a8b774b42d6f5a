"""All configuration, read once from the environment and `.env` by one settings class.

The seed's variable names (``LLM_PROVIDER``, ``LMSTUDIO_API_BASE`` …) work unprefixed; the
gateway's own settings carry the ``BIGSHOT_`` prefix. ``get_settings()`` is the only reader of
the environment in the package.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LMSTUDIO_BASE = "http://localhost:1234/v1"
DEFAULT_OPENAI_BASE = "https://api.openai.com/v1"


def _unprefixed(name: str) -> AliasChoices:
    """A setting read by a name without the ``BIGSHOT_`` prefix (the seed's, OTel's)."""
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Every setting of the gateway; `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix="BIGSHOT_",  # the gateway's own settings; the seed's names are aliases
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # The seed's names, unprefixed.
    llm_provider: Literal["lmstudio", "openai"] = Field(
        "lmstudio", validation_alias=_unprefixed("LLM_PROVIDER")
    )
    lmstudio_api_base: str = Field(
        DEFAULT_LMSTUDIO_BASE,
        validation_alias=_unprefixed("LMSTUDIO_API_BASE"),
    )
    lmstudio_api_key: str = Field("lm-studio", validation_alias=_unprefixed("LMSTUDIO_API_KEY"))
    lmstudio_model: str | None = Field(None, validation_alias=_unprefixed("LMSTUDIO_MODEL"))
    openai_api_key: str | None = Field(None, validation_alias=_unprefixed("OPENAI_API_KEY"))
    openai_api_base: str = Field(
        DEFAULT_OPENAI_BASE, validation_alias=_unprefixed("OPENAI_API_BASE")
    )

    # The gateway's own.
    data_dir: Path = Field(Path("data"))
    database_url: str | None = Field(None)
    redis_url: str | None = Field(None)
    host: str = Field("127.0.0.1")
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    bootstrap_admin_key: str | None = Field(None)
    secret_key: str | None = Field(None)
    # Only `bigshot-llm secrets rotate` reads these (never the command line: argv is public).
    old_secret_key: str | None = Field(None)
    new_secret_key: str | None = Field(None)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO")
    http_transport: Literal["aiohttp", "httpx"] = Field("aiohttp")
    model_cache_ttl: float = Field(300.0, ge=0)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    sse_ping_seconds: float = Field(15.0, gt=0)
    retry_attempts: int = Field(2, ge=0, le=5)
    upstream_keepalive_seconds: float = Field(4.0, gt=0, le=300)
    default_context_length: int = Field(4096, ge=256)
    stream_grace_seconds: float = Field(30.0, gt=0, le=3600)
    stream_buffer_seconds: float = Field(300.0, gt=0, le=86400)
    cors_origins: str = Field("")
    auto_migrate: bool = Field(True)
    rate_limit_user: int = Field(120, ge=0)
    rate_limit_admin: int = Field(0, ge=0)
    max_streams_user: int = Field(4, ge=0)
    # Sharing GPUs (README "Sharing GPUs"): admission to each model's parallel slots.
    admission_enabled: bool = Field(True)
    slots_default: int = Field(4, ge=1, le=1024)
    slots_overrides: str = Field("")
    queue_max_per_model: int = Field(64, ge=0, le=100_000)
    queue_timeout_seconds: float = Field(120.0, ge=0, le=86_400)
    sticky_max_queue: int = Field(4, ge=0, le=100_000)
    model_idle_ttl_seconds: float = Field(0.0, ge=0)
    model_idle_ttls: str = Field("")
    model_idle_check_seconds: float = Field(15.0, gt=0, le=3600)
    # What one non-admin user may own (0 = unlimited): active keys, own providers, and pool
    # URLs over all their providers (each one is a server the gateway health-checks).
    max_keys_per_user: int = Field(20, ge=0, le=100_000)
    max_providers_per_user: int = Field(10, ge=0, le=10_000)
    max_pool_urls_per_user: int = Field(8, ge=0, le=10_000)
    # `n` (choices per request) a non-admin key may ask for; more is clamped to it.
    max_choices_user: int = Field(1, ge=1, le=128)
    rate_limit_fail_open: bool = Field(True)
    # LM Studio's port on loopback only: a host without a port would open every local
    # service (databases, admin consoles, the gateway itself) to every user.
    allowed_upstream_hosts: str = Field("localhost:1234,127.0.0.1:1234,[::1]:1234")
    public_url: str | None = Field(None)
    # Remote images in chat messages, fetched and inlined as data URLs (LM Studio takes no
    # URLs); private hosts only when listed (for admins too).
    image_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    image_fetch_timeout_seconds: float = Field(10.0, gt=0, le=120)
    image_fetch_allowed_hosts: str = Field("")
    # Agent front doors: stored Responses (`store`, `previous_response_id`) and model aliases
    # (`claude-sonnet-4-5=qwen2.5-7b-instruct,gpt-5*=LMStudio Local/qwen3-8b`).
    responses_ttl_seconds: int = Field(30 * 86400, ge=60, le=3650 * 86400)
    model_aliases: str = Field("")
    # Usage, metrics, logs and webhooks.
    log_format: Literal["json", "text"] | None = Field(None)
    usage_flush_seconds: float = Field(1.0, gt=0, le=60)
    usage_batch_size: int = Field(200, ge=1, le=10_000)
    metrics_enabled: bool = Field(
        True, validation_alias=AliasChoices("BIGSHOT_METRICS", "metrics_enabled")
    )
    metrics_loopback_open: bool = Field(True)
    health_check_seconds: float = Field(30.0, ge=0, le=86400)
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    webhook_backoff_seconds: float = Field(30.0, gt=0, le=86400)
    webhook_max_age_seconds: float = Field(86400.0, gt=0, le=7 * 86400)
    webhook_poll_seconds: float = Field(2.0, gt=0, le=300)
    # Dependencies: every wait on the database and on Redis is bounded (README, Reliability).
    db_connect_timeout: float = Field(3.0, gt=0, le=120)
    db_statement_timeout: float = Field(5.0, gt=0, le=3600)
    db_pool_timeout: float = Field(5.0, gt=0, le=120)
    # Replicas starting together take turns migrating: how long one waits for the others.
    db_startup_lock_timeout: float = Field(600.0, gt=0, le=86400)
    redis_socket_timeout: float = Field(0.3, gt=0, le=30)
    redis_retry_seconds: float = Field(2.0, ge=0, le=300)
    model_error_ttl: float = Field(15.0, ge=0, le=3600)
    redis_prefix: str = Field("bigshot", min_length=1, max_length=64)
    shutdown_grace_seconds: float = Field(30.0, ge=0, le=3600)
    pool_health_seconds: float = Field(5.0, gt=0, le=3600)
    # The shortcut past FastAPI's router for the hot LLM routes (api/fast_path.py); off only
    # to compare both paths.
    fast_path: bool = Field(True)

    # Traces (README "Traces"): off unless an OTLP endpoint is set, by the standard OTEL_*
    # names; the exporter itself reads the other OTEL_EXPORTER_OTLP_* (headers, timeout ...).
    otel_exporter_otlp_endpoint: str | None = Field(
        None, validation_alias=_unprefixed("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        None, validation_alias=_unprefixed("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    otel_exporter_otlp_protocol: Literal["http/protobuf", "grpc"] = Field(
        "http/protobuf",
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "otel_exporter_otlp_protocol",
        ),
    )
    otel_sdk_disabled: bool = Field(False, validation_alias=_unprefixed("OTEL_SDK_DISABLED"))
    otel_traces_exporter: str = Field("otlp", validation_alias=_unprefixed("OTEL_TRACES_EXPORTER"))
    # Prompt and answer text in spans: never unless an admin turns it on (then bounded).
    otel_capture_content: bool = False
    otel_content_max_chars: int = Field(4096, ge=64, le=1 << 20)

    # Bounds on what an upstream may send (every provider's bytes are untrusted input).
    max_sse_event_bytes: int = Field(1 << 20, ge=1024, le=1 << 30)
    upstream_max_body_bytes: int = Field(32 << 20, ge=1024, le=1 << 32)
    upstream_max_error_body_bytes: int = Field(64 << 10, ge=1024, le=1 << 30)
    upstream_max_list_body_bytes: int = Field(8 << 20, ge=1024, le=1 << 32)
    upstream_pool_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    # Bounds on what a client may do to the server socket (`bigshot-llm serve`).
    max_header_bytes: int = Field(64 << 10, ge=1024, le=1 << 24)
    request_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    max_connections_per_client: int = Field(2048, ge=0, le=1_000_000)

    @field_validator("lmstudio_api_base", "openai_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host, e.g. http://localhost:1234/v1")
        return value.strip()

    @field_validator("slots_overrides", "model_idle_ttls")
    @classmethod
    def _name_numbers(cls, value: str) -> str:
        parse_name_numbers(value)  # NAME=N,… or a clear error at start-up
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("model_aliases")
    @classmethod
    def _aliases(cls, value: str) -> str:
        parse_aliases(value)
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("otel_exporter_otlp_endpoint", "otel_exporter_otlp_traces_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host, e.g. http://localhost:4318")
        return value.strip()

    @field_validator("otel_exporter_otlp_protocol", mode="before")
    @classmethod
    def _otlp_protocol(cls, value: object) -> object:
        return "http/protobuf" if value in (None, "") else value

    @property
    def otlp_traces_endpoint(self) -> str | None:
        """Where spans go (None: tracing is off): the traces endpoint as given, or the base
        endpoint + ``/v1/traces`` (for http/protobuf), as the OTLP exporter spec says."""
        if self.otel_sdk_disabled or self.otel_traces_exporter.strip().lower() == "none":
            return None
        if self.otel_exporter_otlp_traces_endpoint:
            return self.otel_exporter_otlp_traces_endpoint
        base = self.otel_exporter_otlp_endpoint
        if base is None:
            return None
        if self.otel_exporter_otlp_protocol == "grpc":
            return base
        return f"{base.rstrip('/')}/v1/traces"

    @property
    def effective_database_url(self) -> str:
        """The configured database, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'bigshot.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def allowed_upstream_host_set(self) -> frozenset[str]:
        return parse_allow_list(self.allowed_upstream_hosts)

    @property
    def image_fetch_allowed_host_set(self) -> frozenset[str]:
        return frozenset(
            h.strip().lower().strip("[]")
            for h in self.image_fetch_allowed_hosts.split(",")
            if h.strip()
        )

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


def canonical_host(host: str) -> str:
    """A host as allow-list entries spell it: lower case, IP addresses in their short form."""
    host = host.strip().lower().strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def host_port(host: str, port: int) -> str:
    """``host:port`` as allow-list entries spell it (``[::1]:1234`` for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


MAX_ALIAS_LENGTH = 400


def parse_aliases(text: str) -> dict[str, str]:
    """``alias=target,alias2=target2`` → a dict; ValueError names the bad entry."""
    out: dict[str, str] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        alias, sep, target = (s.strip() for s in entry.partition("="))
        if not sep or not alias or not target:
            raise ValueError(f"alias entry {entry!r} must be alias=target")
        if len(alias) > MAX_ALIAS_LENGTH or len(target) > MAX_ALIAS_LENGTH:
            raise ValueError(f"alias entry {entry!r} is longer than {MAX_ALIAS_LENGTH} characters")
        if "*" in alias[:-1] or target.endswith("*"):
            raise ValueError(f"alias entry {entry!r}: '*' may only end the alias")
        out[alias] = target
    return out


def parse_allow_list(text: str) -> frozenset[str]:
    """`BIGSHOT_ALLOWED_UPSTREAM_HOSTS` normalised: ``host``, ``host:port``, ``[v6]:port`` or a
    bare IPv6 address (``::1``: every port)."""
    entries: set[str] = set()
    for raw in text.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        elif entry.count(":") == 1:
            host, _, port = entry.partition(":")
        else:  # a name, an IPv4 address or a bare IPv6 address
            host, port = entry, ""
        host = canonical_host(host)
        entries.add(host_port(host, int(port)) if port.isdigit() else host)
    return frozenset(entries)


def is_loopback_host(host: str) -> bool:
    """True for localhost and the loopback ranges."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SettingsError(RuntimeError):
    """A bad setting, reported as one line naming the variable."""


def parse_name_numbers(raw: str) -> dict[str, float]:
    """`name=4,provider/model=2.5` → {name: number}; a bad item raises ValueError."""
    found: dict[str, float] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, sep, value = item.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not sep or not name.strip() or number < 0:
            raise ValueError(f"expected NAME=NUMBER (NUMBER ≥ 0), got {item!r}")
        found[name.strip()] = number
    return found


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one clear line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = _env_name(field)
            lines.append(f"invalid setting {name}: {err['msg']}")
        raise SettingsError("; ".join(lines)) from None


def _env_name(field: str) -> str:
    """The variable a validation error's location stands for: an alias as it was read, or a
    field, whose variable carries the prefix."""
    info = Settings.model_fields.get(field)
    if info is None:
        return field.upper()
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own with `load_settings`)."""
    return load_settings()
