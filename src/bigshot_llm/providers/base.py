"""The `Provider` protocol every upstream implements, and the plain data it speaks.

Requests and responses are OpenAI-shaped dicts: the `/v1` surface passes them through, the
native API translates to and from them in the service layer. Providers know nothing of the
database or of FastAPI; they raise `bigshot_llm.errors` exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

ModelType = Literal["llm", "vlm", "embeddings"]
ModelState = Literal["loaded", "not-loaded"]
TransportName = Literal["aiohttp", "httpx"]


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
    stream_idle_timeout: float = 300.0  # max silence between stream chunks
    max_connections: int = 100
    max_keepalive_connections: int = 20
    retry_attempts: int = 2
    # Idle pooled connections are closed after this; kept below the usual 5 s server idle
    # timeout so the gateway never reuses a connection the server is closing.
    keepalive_expiry: float = 4.0
    transport: TransportName = "aiohttp"
    extra_headers: dict[str, str] = field(default_factory=dict)
    # More roots serving the same models: with base_url they form a pool (providers/pool.py).
    pool_urls: tuple[str, ...] = ()

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
