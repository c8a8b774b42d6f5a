"""Request, answer and event models, one module per domain (`base` holds the shared ones)."""
