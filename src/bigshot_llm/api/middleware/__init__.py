"""Pure ASGI middleware (never BaseHTTPMiddleware: it hides client disconnects from streams)."""
