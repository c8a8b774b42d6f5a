"""Alembic migrations, shipped inside the package so an installed gateway can migrate itself."""
