"""Model operations: load/unload and network discovery."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bigshot_llm.schemas.base import Strict, Trimmed
from bigshot_llm.schemas.providers import ProviderPublic

MAX_DISCOVERY_ADDRESSES = 256
MAX_DISCOVERY_PROBES = 1024
HOST_PATTERN = r"^[A-Za-z0-9.\-:\[\]]+$"  # a name or an IP literal: no scheme, path or port


# ---- load / unload -------------------------------------------------------------------------


class LoadOptions(Strict):
    """Every option LM Studio's `POST /api/v1/models/load` documents; unset ones are not sent
    (LM Studio's defaults, or the model's preset, apply)."""

    context_length: int | None = Field(
        None, ge=1, le=1_048_576, description="context to load with; default: LM Studio's"
    )
    eval_batch_size: int | None = Field(None, ge=1, le=65_536)
    flash_attention: bool | None = None
    num_experts: int | None = Field(None, ge=1, le=1024, description="experts to use (MoE)")
    offload_kv_cache_to_gpu: bool | None = None
    echo_load_config: bool | None = Field(
        None, description="have LM Studio answer with the configuration it loaded"
    )

    def given(self) -> dict[str, Any]:
        """The options that were set, as LM Studio's body fields."""
        return self.model_dump(exclude_none=True)


class LoadRequest(LoadOptions):
    pass


class PresetPublic(BaseModel):
    """Load options applied whenever the gateway loads `model` (request-time loads under
    the exclusive policy, and `POST …/load` for the options the call leaves unset)."""

    model: str
    provider_id: str | None = Field(description="null: every provider")
    options: dict[str, Any]
    updated_at: str


class ModelOpAnswer(BaseModel):
    model: str
    provider: dict[str, Any]
    state: Literal["loaded", "not-loaded"]
    instance_ids: list[str] = Field(default_factory=list)
    unloaded: list[str] = Field(
        default_factory=list, description="other models unloaded first (exclusive loading)"
    )
    load_time_seconds: float | None = None
    load_config: dict[str, Any] | None = Field(
        None, description="what LM Studio loaded with (when echo_load_config was asked)"
    )


# ---- discovery -----------------------------------------------------------------------------


class DiscoverRequest(Strict):
    hosts: list[Trimmed] | None = Field(
        None,
        min_length=1,
        max_length=MAX_DISCOVERY_ADDRESSES,
        description="host names or IP addresses to probe (give these or `cidr`)",
        examples=[["127.0.0.1"]],
    )
    cidr: Trimmed | None = Field(
        None,
        max_length=64,
        description=f"a network of at most {MAX_DISCOVERY_ADDRESSES} addresses",
        examples=["127.0.0.1/32"],
    )
    ports: list[int] = Field(default_factory=lambda: [1234], min_length=1, max_length=16)
    create: bool = Field(False, description="create a global provider for every server found")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"hosts": ["127.0.0.1"], "ports": [1234, 1235]}]},
    )

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for host in value:
            if not host or len(host) > 253 or not re.match(HOST_PATTERN, host):
                raise ValueError("each host must be a bare host name or IP address")
        return list(dict.fromkeys(value))

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        if any(not 1 <= port <= 65535 for port in value):
            raise ValueError("ports must be between 1 and 65535")
        return list(dict.fromkeys(value))

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ValueError(f"not a network: {exc}") from exc
        if network.num_addresses > MAX_DISCOVERY_ADDRESSES:
            raise ValueError(f"at most {MAX_DISCOVERY_ADDRESSES} addresses (e.g. a /24)")
        return str(network)

    @model_validator(mode="after")
    def _one_source(self) -> DiscoverRequest:
        if (self.hosts is None) == (self.cidr is None):
            raise ValueError("give either `hosts` or `cidr`")
        if len(self.addresses()) * len(self.ports) > MAX_DISCOVERY_PROBES:
            raise ValueError(f"at most {MAX_DISCOVERY_PROBES} host×port probes per request")
        return self

    def addresses(self) -> list[str]:
        """Every host to probe, in order."""
        if self.hosts is not None:
            return self.hosts
        network = ipaddress.ip_network(self.cidr or "", strict=False)
        hosts = list(network) if network.num_addresses <= 2 else list(network.hosts())
        return [str(h) for h in hosts]


class DiscoveredServer(BaseModel):
    host: str
    port: int
    base_url: str
    kind: Literal["lmstudio", "openai_compatible"]
    api: Literal["lmstudio-v1", "lmstudio-v0", "openai"]
    models: list[dict[str, Any]]
    latency_ms: float
    provider: ProviderPublic | None = Field(
        None, description="the provider config created for it, or the one that already exists"
    )
    created: bool = False


class DiscoverAnswer(BaseModel):
    probed: int
    found: list[DiscoveredServer]
    duration_ms: float
