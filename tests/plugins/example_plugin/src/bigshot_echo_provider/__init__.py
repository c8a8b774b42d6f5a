"""An example bigshot-llm provider plugin: the "echo" kind answers with the last message.

Installed into the gateway's environment, it registers itself through the entry-point group
``bigshot_llm.providers`` (see ``pyproject.toml``); the gateway then accepts
``"kind": "echo"`` in provider configs. It implements the same ``Provider`` protocol as the
built-ins: OpenAI-shaped dicts in, OpenAI-shaped dicts (or stream chunks) out.
"""

from __future__ import annotations

from bigshot_echo_provider.provider import EchoProvider

__all__ = ["EchoProvider"]
