"""A redis-server of the test's own (stopped mid-run by some), as tests/cache starts it."""

from tests.cache.test_redis_tier import own_redis  # noqa: F401 (a fixture)
