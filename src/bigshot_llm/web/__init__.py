"""Serving the built browser UI (the Vite build in ``bigshot_llm/static``)."""

from __future__ import annotations

from bigshot_llm.web.static import STATIC_DIR, UIApp, mount_ui

__all__ = ["STATIC_DIR", "UIApp", "mount_ui"]
