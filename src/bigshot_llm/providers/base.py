"""The `Provider` protocol every upstream implements, and the plain data it speaks.

Requests and responses are OpenAI-shaped dicts: the `/v1` surface passes them through, the
native API translates to and from them in the service layer. Providers know nothing of the
database or of FastAPI; they raise `bigshot_llm.errors` exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import httpx

    from bigshot_llm.settings import Settings

from bigshot_llm.providers.addresses import AddressPolicy

ModelType = Literal["llm", "vlm", "embeddings"]
ModelState = Literal["loaded", "not-loaded"]
TransportName = Literal["aiohttp", "httpx"]


DEFAULT_MAX_CONNECTIONS = 1000


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    """How much an upstream may send and how long a request waits for a connection.

    Every byte an upstream sends is untrusted (any user may register a provider), so reads
    stop at these bounds, the connection is closed and the answer is a 502.
    """

    max_sse_event_bytes: int = 1 << 20  # one line or one event of a stream
    max_body_bytes: int = 32 << 20  # a completion, chat or embeddings answer
    max_error_body_bytes: int = 64 << 10  # the body of a non-2xx answer
    max_list_body_bytes: int = 8 << 20  # model lists and model management answers
    pool_timeout: float = 30.0  # waiting for one of `max_connections` to come free


def limits_from_settings(settings: Settings) -> ProviderLimits:
    """The gateway-wide limits every provider gets (the `BIGSHOT_UPSTREAM_*` settings)."""
    return ProviderLimits(
        max_sse_event_bytes=settings.max_sse_event_bytes,
        max_body_bytes=settings.upstream_max_body_bytes,
        max_error_body_bytes=settings.upstream_max_error_body_bytes,
        max_list_body_bytes=settings.upstream_max_list_body_bytes,
        pool_timeout=settings.upstream_pool_timeout_seconds,
    )


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Everything a provider needs to talk to one upstream (built from a stored config)."""

    id: str
    name: str
    kind: str  # "lmstudio" | "openai" | "openai_compatible" | a plugin's kind
    base_url: str  # normalised root, WITHOUT a trailing "/v1" or "/"
    api_key: str | None = None
    default_model: str | None = None
    connect_timeout: float = 5.0
    list_timeout: float = 5.0  # model listing, total per provider
    read_timeout: float = 600.0  # non-streaming generation
    # Max time between two stream events that carry data: comments (keep-alives) and a line
    # trickled byte by byte do not count as activity.
    stream_idle_timeout: float = 300.0
    # Concurrent requests (each holds one connection while it runs, a stream until it ends);
    # beyond it requests wait up to `limits.pool_timeout` for one to come free.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_keepalive_connections: int = 20
    retry_attempts: int = 2
    # Idle pooled connections are closed after this; kept below the usual 5 s server idle
    # timeout so the gateway never reuses a connection the server is closing.
    keepalive_expiry: float = 4.0
    transport: TransportName = "aiohttp"
    extra_headers: dict[str, str] = field(default_factory=dict)
    # More roots serving the same models: with base_url they form a pool (providers/pool.py).
    pool_urls: tuple[str, ...] = ()
    limits: ProviderLimits = field(default_factory=ProviderLimits)
    # Checked again at connect time (DNS rebinding); None: no check (tests, the simulator).
    address_policy: AddressPolicy | None = None
    # False for a user's own provider: errors say what happened in our words, never the
    # upstream's body (a user must not read other local services through the gateway).
    echo_upstream_errors: bool = True
    # Anthropic Messages / OpenAI Responses forwarded as they are: "on", "off", or "auto"
    # (an LM Studio is asked once whether it serves them; see `providers.native`).
    native_apis: str = "auto"
    # Wraps the client's transport (traces: README "Traces"); None leaves it as it is.
    wrap_transport: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None

    @property
    def openai_base(self) -> str:
        """The OpenAI-compatible root, e.g. ``http://localhost:1234/v1``."""
        return f"{self.base_url}/v1"


@dataclass(slots=True)
class ModelInfo:
    """One model, normalised across LM Studio's native APIs and OpenAI's list."""

    id: str
    type: ModelType = "llm"
    arch: str | None = None
    state: ModelState | None = None
    max_context_length: int | None = None
    quantization: str | None = None
    publisher: str | None = None
    loaded_context_length: int | None = None
    # Capabilities as the server lists them; None = not listed (unknown, not "no").
    vision: bool | None = None
    tool_use: bool | None = None
    # {"allowed_options": [...], "default": ...} for a model that reasons (LM Studio v1).
    reasoning: dict[str, Any] | None = None
    # Loaded instances (LM Studio v1): [{"id": "key" | "key:2", "parallel": slots | None}].
    instances: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, detailed: bool = True) -> dict[str, Any]:
        if not detailed:
            return {"id": self.id}
        return asdict(self)


@dataclass(slots=True)
class StreamChunk:
    """One upstream stream event: the raw JSON payload and its parsed form.

    `raw` lets the `/v1` surface relay upstream bytes without re-encoding them.
    """

    raw: bytes
    data: dict[str, Any]


@runtime_checkable
class Provider(Protocol):
    """What the LLM service calls. One implementation module per upstream kind."""

    spec: ProviderSpec

    async def list_models(self, detailed: bool = False) -> list[ModelInfo]: ...

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]: ...

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]: ...

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def stream_chat(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]: ...

    def stream_complete(self, body: dict[str, Any]) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...
