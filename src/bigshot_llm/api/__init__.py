"""The HTTP layer: routes by domain, dependencies, error rendering and ASGI middleware."""
