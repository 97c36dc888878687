"""One settings object, read from the environment once, shared by the app and the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from core.addresses import HostNameError, host_name, parse_origins

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "var" / "pgdata"
DEMO_JWT_SECRET = "flowpilot-demo-secret-change-me-in-production"
# RFC 7518 3.2: an HS256 key must have at least as many bits as the hash (256).
MIN_JWT_SECRET_BYTES = 32


_LOCAL_HOSTS = {"", "127.0.0.1", "localhost", "::1"}  # or a socket folder


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message says which and why."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _hosts(name: str) -> tuple[str, ...]:
    """A comma-separated list of bare host names."""
    raw = os.environ.get(name) or ""
    try:
        return tuple(host_name(part) for part in raw.split(",") if part.strip())
    except HostNameError:
        raise SettingsError(f"{name} must list bare host names, got {raw!r}") from None


def _origins(name: str) -> tuple[str, ...]:
    try:
        return parse_origins(os.environ.get(name) or "")
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None


def _optional(name: str) -> str | None:
    raw = os.environ.get(name)
    return raw if raw else None


def _refuse_demo_beside_real_settings(database_url: str, secret: str | None) -> None:
    """FLOWPILOT_DEMO publishes a team-admin token on the GraphiQL page and signs with the
    public demo secret: only for the embedded database `serve` started on this machine."""
    if secret is not None:
        raise SettingsError(
            "FLOWPILOT_DEMO=1 cannot be combined with AUTH_JWT_SECRET: demo mode publishes "
            "a team-admin token on the GraphiQL page; unset FLOWPILOT_DEMO"
        )
    parts = urlsplit(database_url)
    host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
    if host not in _LOCAL_HOSTS and not host.startswith("/"):
        raise SettingsError(
            "FLOWPILOT_DEMO=1 is only for the embedded database on this machine, "
            f"not for DATABASE_URL on {host}; unset FLOWPILOT_DEMO"
        )


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults of the embedded demo run."""

    database_url: str | None = None
    database_read_url: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    jwt_secret: str = DEMO_JWT_SECRET
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Longest lifetime (exp - iat) a token may claim; longer ones are refused.
    jwt_max_lifetime_s: float = 24 * 3600.0
    graphiql: bool = True
    introspection: bool = True
    # The insights page at `/`; None follows `graphiql`.
    insights_page: bool | None = None
    pool_size: int = 10
    max_overflow: int = 5
    statement_timeout_ms: int = 5000
    request_timeout_s: float = 10.0
    recalc_interval_s: float = 900.0
    # PSA outbox recovery: at start and then every this many seconds; 0 switches it off.
    outbox_recovery_interval_s: float = 60.0
    psa_secret_key: str | None = None
    # Hosts besides ConnectWise's cloud a PSA connection may name (on-premise ConnectWise).
    psa_connectwise_hosts: tuple[str, ...] = ()
    # Abuse limits (docs/operations.md).
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_tokens: int = 2000
    max_query_cost: int = 5000
    rate_limit_burst_cost: float = 50000.0
    rate_limit_cost_per_s: float = 10000.0
    # An account out of budget is answered after this pause (at most its retryAfter).
    rate_limited_pause_s: float = 1.0
    # Requests of one account worked on at once per worker; more wait their turn.
    account_max_concurrent_requests: int = 8
    max_request_bytes: int = 65536
    pool_timeout_s: float = 5.0
    connect_timeout_s: float = 5.0
    # Persisted queries: APQ cache size, and safelist mode (first-party operations only).
    persisted_queries_safelist: bool = False
    persisted_queries_cache_size: int = 1000
    persisted_queries_cache_bytes: int = 4 * 1024 * 1024
    # Persisted-query manifests (Apollo or GraphQL Code Generator); the safelist's operations.
    persisted_queries_manifests: tuple[str, ...] = ()
    # Browser origins allowed to call the API (CORS); none by default.
    cors_allowed_origins: tuple[str, ...] = ()
    # Response cache (docs/caching.md): in-process by default, Redis when REDIS_URL is set.
    response_cache: bool = True
    response_cache_max_age_s: float = 60.0
    response_cache_max_bytes: int = 64 * 1024 * 1024
    response_cache_hit_cost: float = 1.0
    response_cache_redis_timeout_s: float = 0.05
    redis_url: str | None = None

    demo: bool = True

    def __post_init__(self) -> None:
        if len(self.jwt_secret.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
            raise SettingsError(
                f"AUTH_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes "
                "(a short HS256 key can be guessed offline from any token)"
            )
        if self.jwt_max_lifetime_s <= 0:
            raise SettingsError("AUTH_JWT_MAX_LIFETIME_S must be above 0")
        if self.account_max_concurrent_requests <= 0:
            raise SettingsError("ACCOUNT_MAX_CONCURRENT_REQUESTS must be above 0")

    @property
    def embedded(self) -> bool:
        """True when no database is configured and the service runs its own PostgreSQL."""
        return self.database_url is None

    @classmethod
    def from_env(cls) -> Settings:
        database_url = _optional("DATABASE_URL")
        # The CLI sets FLOWPILOT_DEMO=1 after starting the embedded database for its workers.
        demo = database_url is None or _bool("FLOWPILOT_DEMO", False)
        secret = _optional("AUTH_JWT_SECRET")
        if demo and database_url is not None:
            _refuse_demo_beside_real_settings(database_url, secret)
        if secret is None:
            if not demo:
                raise SettingsError(
                    "AUTH_JWT_SECRET must be set when DATABASE_URL is set "
                    "(the demo secret is only for the embedded database)"
                )
            secret = DEMO_JWT_SECRET
        return cls(
            database_url=database_url,
            database_read_url=_optional("DATABASE_READ_URL"),
            data_dir=Path(os.environ.get("FLOWPILOT_DATA_DIR") or DEFAULT_DATA_DIR),
            jwt_secret=secret,
            jwt_issuer=_optional("AUTH_JWT_ISSUER"),
            jwt_audience=_optional("AUTH_JWT_AUDIENCE"),
            jwt_max_lifetime_s=_float("AUTH_JWT_MAX_LIFETIME_S", 24 * 3600.0),
            graphiql=_bool("GRAPHIQL_ENABLED", demo),
            introspection=_bool("INTROSPECTION_ENABLED", demo),
            insights_page=_bool("INSIGHTS_PAGE", _bool("GRAPHIQL_ENABLED", demo)),
            pool_size=_int("DB_POOL_SIZE", 10),
            max_overflow=_int("DB_MAX_OVERFLOW", 5),
            statement_timeout_ms=_int("DB_STATEMENT_TIMEOUT_MS", 5000),
            request_timeout_s=_float("REQUEST_TIMEOUT_S", 10.0),
            recalc_interval_s=_float("SUCCESS_RATE_RECALC_INTERVAL_S", 900.0),
            outbox_recovery_interval_s=_float("PSA_OUTBOX_RECOVERY_INTERVAL_S", 60.0),
            psa_secret_key=_optional("PSA_SECRET_KEY"),
            psa_connectwise_hosts=_hosts("PSA_CONNECTWISE_HOSTS"),
            max_query_depth=_int("QUERY_MAX_DEPTH", 10),
            max_query_aliases=_int("QUERY_MAX_ALIASES", 30),
            max_query_tokens=_int("QUERY_MAX_TOKENS", 2000),
            max_query_cost=_int("QUERY_MAX_COST", 5000),
            rate_limit_burst_cost=_float("RATE_LIMIT_BURST_COST", 50000.0),
            rate_limit_cost_per_s=_float("RATE_LIMIT_COST_PER_S", 10000.0),
            rate_limited_pause_s=_float("RATE_LIMITED_PAUSE_S", 1.0),
            account_max_concurrent_requests=_int("ACCOUNT_MAX_CONCURRENT_REQUESTS", 8),
            max_request_bytes=_int("MAX_REQUEST_BYTES", 65536),
            pool_timeout_s=_float("DB_POOL_TIMEOUT_S", 5.0),
            connect_timeout_s=_float("DB_CONNECT_TIMEOUT_S", 5.0),
            persisted_queries_safelist=_bool("PERSISTED_QUERIES_SAFELIST", False),
            persisted_queries_cache_size=_int("PERSISTED_QUERIES_CACHE_SIZE", 1000),
            persisted_queries_cache_bytes=_int("PERSISTED_QUERIES_CACHE_BYTES", 4 * 1024 * 1024),
            persisted_queries_manifests=tuple(
                path.strip()
                for path in (os.environ.get("PERSISTED_QUERIES_MANIFESTS") or "").split(",")
                if path.strip()
            ),
            cors_allowed_origins=_origins("CORS_ALLOWED_ORIGINS"),
            response_cache=_bool("ANALYTICS_CACHE", True),
            response_cache_max_age_s=_float("ANALYTICS_CACHE_MAX_AGE_S", 60.0),
            response_cache_max_bytes=_int("ANALYTICS_CACHE_MAX_BYTES", 64 * 1024 * 1024),
            response_cache_hit_cost=_float("ANALYTICS_CACHE_HIT_COST", 1.0),
            response_cache_redis_timeout_s=_float("ANALYTICS_CACHE_REDIS_TIMEOUT_S", 0.05),
            redis_url=_optional("REDIS_URL"),
            demo=demo,
        )
