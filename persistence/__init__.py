"""Database access: models, engine, tenancy and the analytics queries."""
