"""What the agent front doors share when they build a chat-completions conversation.

Claude Code puts `system` messages in the middle of a conversation (its
`mid-conversation-system` beta) and Codex sends `developer` items after the first turn;
many local models' chat templates refuse a system message anywhere but first, so every
system message is folded into one leading system message, in order.
"""

from __future__ import annotations

from typing import Any

__all__ = ["hoist_system"]


def hoist_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    texts: list[str] = []
    rest: list[dict[str, Any]] = []
    for message in messages:
        if message.get("role") == "system":
            content = message.get("content")
            if isinstance(content, list):
                content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            if content:
                texts.append(str(content))
        else:
            rest.append(message)
    if not texts:
        return rest
    return [{"role": "system", "content": "\n\n".join(texts)}, *rest]
