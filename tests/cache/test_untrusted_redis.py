"""Redis is not trusted with the answers: a value written by anyone else, a value moved
from another tenant's key and an entry stamped in the future are misses (counted), never
served; a Redis that requires AUTH or TLS is reached with the URL's credentials."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from queries import tab_query
from service.response_cache.entry import Entry
from service.response_cache.seal import EntrySeal, derived_key
from tests.cache.redis_server import redis_server
from tests.cache.support import Outcomes
from tests.factories import AccountBuilder
from tests.graphql_client import (
    TEST_JWT_SECRET,
    ApiClient,
    running_app,
    settings_for_tests,
    token_for,
)

OVERVIEW = tab_query("overview")
VARIABLES = {"period": "LAST_30_DAYS"}
FORGED_BODY = b'{"data":{"overview":{"sessionCount":999}}}'


@pytest.fixture
def plain_redis(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as (port, _):
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[int]:
    with redis_server(tmp_path, "--requirepass", "s3cret-redis-password") as (port, _):
        yield port


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the certificate is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "redis.crt", tmp_path / "redis.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[str]:
    cert, key = _self_signed(tmp_path)
    certificate = ("--tls-cert-file", str(cert), "--tls-key-file", str(key))
    authority = ("--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no")
    with redis_server(tmp_path, *certificate, *authority, tls=True) as (port, _):
        yield f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}&ssl_cert_reqs=required"


def _cached_settings(database_url: str, redis_url: str) -> Settings:
    """A generous Redis timeout: a TLS handshake on a busy machine takes more than 50 ms,
    and these tests are about what Redis returns, not how fast."""
    return settings_for_tests(
        database_url,
        response_cache=True,
        redis_url=redis_url,
        response_cache_redis_timeout_s=5.0,
    )


async def _stored_keys(redis_url: str, account: AccountBuilder) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return [key async for key in client.scan_iter(f"fp:rc:{account.account_id}:*")]
    finally:
        await client.aclose()


async def _write(redis_url: str, key: bytes, value: bytes) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        await client.set(key, value, px=60_000)
    finally:
        await client.aclose()


async def _read(redis_url: str, key: bytes) -> bytes:
    client = redis.Redis.from_url(redis_url)
    try:
        value = await client.get(key)
    finally:
        await client.aclose()
    assert isinstance(value, bytes)
    return value


async def _account_with_sessions(
    sessionmaker: async_sessionmaker[AsyncSession], sessions: int
) -> AccountBuilder:
    builder = await AccountBuilder.create(sessionmaker)
    for minutes in range(sessions):
        await builder.session(datetime.now(UTC) - timedelta(hours=1, minutes=minutes))
    return builder


async def _overview_count(api: ApiClient, account: AccountBuilder) -> int:
    data = await api.data(OVERVIEW, VARIABLES, token=token_for(account.account_id))
    count: int = data["overview"]["sessionCount"]
    return count


async def test_a_value_written_into_redis_by_someone_else_is_a_counted_miss(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], plain_redis: str
) -> None:
    victim = await _account_with_sessions(sessionmaker, 2)
    counts = Outcomes()
    async with running_app(_cached_settings(database_url, plain_redis)) as api:
        assert await _overview_count(api, victim) == 2  # a miss, stored
        (key,) = await _stored_keys(plain_redis, victim)
        # The value format without a seal, as anyone who can write Redis could make it.
        await _write(plain_redis, key, Entry.of(FORGED_BODY, time.time()).encode())
        assert await _overview_count(api, victim) == 2
        assert counts.since("miss", "forged_entry") == 1
        assert counts.since("hit") == 0
        # The miss's answer replaced the forged value: the next request is a hit.
        assert await _overview_count(api, victim) == 2
        assert counts.since("hit") == 1


async def test_a_value_moved_from_another_tenants_key_is_a_counted_miss(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], plain_redis: str
) -> None:
    victim = await _account_with_sessions(sessionmaker, 1)
    other = await _account_with_sessions(sessionmaker, 3)
    counts = Outcomes()
    async with running_app(_cached_settings(database_url, plain_redis)) as api:
        assert await _overview_count(api, victim) == 1
        assert await _overview_count(api, other) == 3
        (victim_key,) = await _stored_keys(plain_redis, victim)
        (other_key,) = await _stored_keys(plain_redis, other)
        await _write(plain_redis, victim_key, await _read(plain_redis, other_key))
        assert await _overview_count(api, victim) == 1
        assert counts.since("miss", "forged_entry") == 1
        assert counts.since("hit") == 0


async def test_an_entry_stamped_in_the_future_is_a_counted_miss(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], plain_redis: str
) -> None:
    """Sealed with the workers' own key (a host whose clock runs an hour fast): it would
    outlive the 60 s maximum age, so it is not served."""
    account = await _account_with_sessions(sessionmaker, 2)
    counts = Outcomes()
    async with running_app(_cached_settings(database_url, plain_redis)) as api:
        assert await _overview_count(api, account) == 2
        (key,) = await _stored_keys(plain_redis, account)
        seal = EntrySeal(derived_key(TEST_JWT_SECRET))
        future = Entry.of(FORGED_BODY, time.time() + 3600)
        await _write(plain_redis, key, seal.seal(key.decode(), future))
        assert await _overview_count(api, account) == 2
        assert counts.since("miss", "future_entry") == 1
        # The same value stamped now is served: the seal is the workers' own.
        await _write(plain_redis, key, seal.seal(key.decode(), Entry.of(FORGED_BODY, time.time())))
        assert await _overview_count(api, account) == 999
        assert counts.since("hit") == 1


async def test_a_redis_that_requires_auth_is_used_with_the_urls_password(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], password_redis: int
) -> None:
    account = await _account_with_sessions(sessionmaker, 2)
    with_password = f"redis://:s3cret-redis-password@127.0.0.1:{password_redis}/0"
    without = f"redis://127.0.0.1:{password_redis}/0"
    counts = Outcomes()
    async with running_app(_cached_settings(database_url, with_password)) as api:
        assert await _overview_count(api, account) == 2
        assert await _overview_count(api, account) == 2
    assert counts.since("hit") == 1
    async with running_app(_cached_settings(database_url, without)) as api:
        assert await _overview_count(api, account) == 2
    assert counts.since("bypass", "tier_unavailable") == 1
    assert counts.since("hit") == 1


async def test_a_redis_over_tls_is_used_through_a_rediss_url(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tls_redis: str
) -> None:
    account = await _account_with_sessions(sessionmaker, 3)
    counts = Outcomes()
    async with running_app(_cached_settings(database_url, tls_redis)) as api:
        assert await _overview_count(api, account) == 3
        assert await _overview_count(api, account) == 3
    assert counts.since("hit") == 1
    assert counts.since("bypass", "tier_unavailable") == 0


def test_the_seal_is_bound_to_key_and_value() -> None:
    seal = EntrySeal(b"k" * 32)
    entry = Entry.of(b'{"data":{}}', 1_700_000_000.0)
    sealed = seal.seal("fp:rc:a:1:x", entry)
    assert seal.open("fp:rc:a:1:x", sealed) == entry
    for key, value in [
        ("fp:rc:b:1:x", sealed),  # another key
        ("fp:rc:a:1:x", sealed[:-1] + b"]"),  # another body
        ("fp:rc:a:1:x", entry.encode()),  # no seal
        ("fp:rc:a:1:x", EntrySeal(b"j" * 32).seal("fp:rc:a:1:x", entry)),  # another key's seal
    ]:
        with pytest.raises(ValueError):
            seal.open(key, value)
