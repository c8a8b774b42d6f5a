"""Upstream LLM servers behind one `Provider` protocol.

`create_provider(spec)` picks the implementation by `spec.kind`; `normalize_base_url` and
`mask_secret` are for whoever stores a provider's configuration.
"""

from __future__ import annotations

from bigshot_llm.providers.base import ModelInfo, Provider, ProviderSpec, StreamChunk
from bigshot_llm.providers.http import build_client, error_from_response, map_transport_error
from bigshot_llm.providers.kinds import available_kinds, create_provider, provider_class
from bigshot_llm.providers.lmstudio import LMStudioProvider
from bigshot_llm.providers.openai import OpenAIProvider
from bigshot_llm.providers.urls import mask_secret, normalize_base_url

__all__ = [
    "LMStudioProvider",
    "ModelInfo",
    "OpenAIProvider",
    "Provider",
    "ProviderSpec",
    "StreamChunk",
    "available_kinds",
    "build_client",
    "create_provider",
    "error_from_response",
    "map_transport_error",
    "mask_secret",
    "normalize_base_url",
    "provider_class",
]
