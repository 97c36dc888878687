"""End-to-end tests of the four analytics tabs, over HTTP, against real PostgreSQL."""
