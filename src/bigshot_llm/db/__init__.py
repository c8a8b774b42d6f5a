"""Persistence: SQLModel tables, the async engine, and small data-access helpers."""
