"""Alembic migrations of the product schema (baseline, then the analytics additions)."""
