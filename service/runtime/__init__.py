"""What a running server holds beside its routes: engines, the embedded PostgreSQL, jobs, ports."""
