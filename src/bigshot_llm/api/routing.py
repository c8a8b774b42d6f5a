"""Routes documented by their endpoint's docstring.

The docstring's first paragraph is the OpenAPI summary and the rest its description, so a
route's decorator carries only its path and shapes, and the documentation sits where a
reader of the code looks for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute


class DocumentedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        doc = inspect.getdoc(endpoint) or ""
        first, _, rest = doc.partition("\n\n")
        if kwargs.get("summary") is None and first:
            kwargs["summary"] = " ".join(first.split())
            if kwargs.get("description") is None:
                kwargs["description"] = rest.strip()
        super().__init__(path, endpoint, **kwargs)


def api_router(prefix: str = "", *, tags: list[str]) -> APIRouter:
    """An `APIRouter` whose routes take their summary from the endpoint's docstring."""
    return APIRouter(prefix=prefix, tags=list(tags), route_class=DocumentedRoute)
