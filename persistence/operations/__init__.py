"""Operator tooling, off the request path: migrate and adopt, roles, backfills, the demo seed."""
