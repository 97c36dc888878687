"""The declarative base every table of the service shares, on its own so that each group
of models imports it without importing the others."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a check constraint that keeps an enumerated text column in its set."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base of every table the service maps."""
