"""Model aliases: names clients know (`claude-sonnet-4-5`, `gpt-5-codex`) → a local model.

Coding agents send their vendor's model names; an alias maps such a name to a model id or
`provider-name/model-id` before routing, on every surface (`/v1`, `/v1/messages`,
`/v1/responses`, the native API). An alias ending in `*` matches by prefix (`claude-*`
catches each model name Claude Code uses); an exact alias wins over a prefix, and the longest
prefix over shorter ones. Targets are not aliases again (no chains, no loops).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bigshot_llm.settings import parse_aliases

__all__ = ["ModelAliases", "parse_aliases"]


@dataclass(frozen=True)
class ModelAliases:
    exact: dict[str, str] = field(default_factory=dict)
    prefixes: tuple[tuple[str, str], ...] = ()  # longest first

    @classmethod
    def from_mapping(cls, mapping: dict[str, str]) -> ModelAliases:
        exact = {a: t for a, t in mapping.items() if not a.endswith("*")}
        prefixes = sorted(
            ((a[:-1], t) for a, t in mapping.items() if a.endswith("*")),
            key=lambda item: -len(item[0]),
        )
        return cls(exact, tuple(prefixes))

    def resolve(self, model: str | None) -> str | None:
        """The target of `model`'s alias, else `model` itself."""
        if not model:
            return model
        target = self.exact.get(model)
        if target is not None:
            return target
        for prefix, target in self.prefixes:
            if model.startswith(prefix):
                return target
        return model

    def listed(self) -> list[tuple[str, str]]:
        """The exact aliases (what `/v1/models` shows), by name."""
        return sorted(self.exact.items())
