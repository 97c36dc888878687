"""Resolver plumbing: per-request context and the dataloaders that batch SQL."""
