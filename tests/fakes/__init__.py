"""In-process fakes of external services, served over real HTTP on loopback."""
