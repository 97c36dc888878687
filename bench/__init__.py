"""The benchmark: a synthetic MSP-scale dataset, the PostgreSQL floor, and the API against it."""
