"""Quotas per user or API key: tokens, GPU-seconds or requests per UTC day or month."""
