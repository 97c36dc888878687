"""One settings object, read from the environment once, shared by the app and the CLI.

Each setting is declared once, as a field of `Settings`: its type, its default (the
embedded demo run's) and its environment variable. `Settings.from_env` reads every field
through one small parser chosen by the field's type, so a bad value is refused with one
line that names the variable. A dataclass with a generic parser rather than
pydantic-settings: the messages and the accepted spellings (`yes`/`off`, an empty value
meaning the default) stay exactly what operators and tests rely on, and no dependency
comes in for forty fields.

The rules between settings (the demo secret only for the embedded database, a real
secret whenever DATABASE_URL is set) are in `from_env`; the checks of single values in
`__post_init__`, so they hold for a `Settings` built in code too. A numeric field
declares the lowest value it accepts (`above=` or `at_least=`, and what 0 means when 0
switches something off) and, where more would be nonsense, the highest (`at_most=`), so
every bad number is refused by one rule with one message.
A secret field (`secret=True`) may be read from the file its `<VARIABLE>_FILE` names
(core/secret_files.py).

The embedded PostgreSQL's folder defaults to `var/pgdata` under the current directory
(the checkout, when started as the README says), not beside the installed source.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import parse_qs, urlsplit

from core.addresses import HostNameError, host_name, parse_origins
from core.embedded_server import runs_from
from core.secret_files import SecretFileError, secret_value

DEMO_JWT_SECRET = "flowpilot-demo-secret-change-me-in-production"
# RFC 7518 3.2: an HS256 key must have at least as many bits as the hash (256).
MIN_JWT_SECRET_BYTES = 32


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message says which and why."""


def default_data_dir() -> Path:
    """`var/pgdata` in the current directory."""
    return Path.cwd() / "var" / "pgdata"


def _check_link_template(name: str, template: str | None, placeholder: str | None) -> None:
    """A link the insights page builds: http(s) or a path on this host, with its placeholder."""
    if template is None:
        return
    scheme = urlsplit(template).scheme
    if scheme not in ("http", "https") and not (scheme == "" and template.startswith("/")):
        raise SettingsError(f"{name} must be an http(s) URL or a path starting with /")
    if placeholder is not None and placeholder not in template:
        raise SettingsError(f"{name} must contain {placeholder}, where the flow's id goes")


def _bool(name: str, raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number, got {raw!r}")
    return value


def _text(name: str, raw: str) -> str:
    return raw


def _path(name: str, raw: str) -> Path:
    return Path(raw)


def _list(name: str, raw: str) -> tuple[str, ...]:
    """A comma-separated list; blanks around and between items are dropped."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _hosts(name: str, raw: str) -> tuple[str, ...]:
    """A comma-separated list of bare host names."""
    try:
        return tuple(host_name(part) for part in raw.split(",") if part.strip())
    except HostNameError:
        raise SettingsError(f"{name} must list bare host names, got {raw!r}") from None


POOLERS = ("none", "pgbouncer")


def _pooler(name: str, raw: str) -> str:
    if raw.lower() not in POOLERS:
        raise SettingsError(f"{name} must be one of {', '.join(POOLERS)}, got {raw!r}")
    return raw.lower()


def _origins(name: str, raw: str) -> tuple[str, ...]:
    try:
        return parse_origins(raw)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(name: str, raw: str) -> str:
    if raw.upper() not in _LOG_LEVELS:
        raise SettingsError(f"{name} must be one of {', '.join(_LOG_LEVELS)}, got {raw!r}")
    return raw.upper()


Parser = Callable[[str, str], Any]
# The parser of a field's type; a field may name its own (`setting(..., parse=...)`).
_PARSERS: dict[object, Parser] = {
    bool: _bool,
    int: _int,
    float: _float,
    str: _text,
    Path: _path,
    bool | None: _bool,
    str | None: _text,
    tuple[str, ...]: _list,
}


@dataclass(frozen=True)
class Bound:
    """The values a numeric setting accepts: above `low`, or from `low` on when
    `inclusive`; `zero` says what 0 means when 0 is accepted as a special value."""

    low: float
    inclusive: bool = False
    zero: str | None = None
    high: float | None = None

    def accepts(self, value: float) -> bool:
        if self.high is not None and value > self.high:
            return False
        return value >= self.low if self.inclusive else value > self.low

    def describe(self, whole: bool) -> str:
        kind = "a whole number" if whole else "a number"
        low = f"{self.low:g}"
        text = f"{kind} of {low} or more" if self.inclusive else f"{kind} above {low}"
        if self.high is not None:
            text += f" and at most {self.high:g}"
        return f"{text} ({low} {self.zero})" if self.zero else text


def setting(
    env: str,
    default: Any = MISSING,
    *,
    parse: Parser | None = None,
    secret: bool = False,
    above: float | None = None,
    at_least: float | None = None,
    zero: str | None = None,
    at_most: float | None = None,
    **kw: Any,
) -> Any:
    """A field read from the environment variable `env`; unset or empty keeps the default.

    `secret`: may come from the file `<env>_FILE` names instead. `above`/`at_least`: the
    lowest value accepted (`zero` says what 0 means when it is accepted); `at_most` the
    highest."""
    bound = None
    if above is not None:
        bound = Bound(above, zero=zero, high=at_most)
    elif at_least is not None:
        bound = Bound(at_least, inclusive=True, zero=zero, high=at_most)
    metadata = {"env": env, "parse": parse, "secret": secret, "bound": bound}
    return field(default=default, metadata=metadata, **kw)


def _check_bound(item: Any, value: Any) -> None:
    """`value` within the field's bound, else one line saying what it accepts."""
    bound: Bound | None = item.metadata.get("bound")
    if bound is not None and not bound.accepts(value):
        accepted = bound.describe(whole=_TYPES[item.name] is int)
        raise SettingsError(f"{item.metadata['env']} must be {accepted}, got {value:g}")


def _check_bounds(settings: Settings) -> None:
    """Every numeric setting within its bound, else one line saying what it accepts."""
    for item in fields(settings):
        _check_bound(item, getattr(settings, item.name))


_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _check_redis_url(url: str) -> None:
    """A URL redis-py can connect with (else its error would surface at the first request)."""
    accepted = (
        "REDIS_URL must be a redis://host:port/db, rediss:// (TLS) or unix:///path URL, "
        "with the password in it when Redis requires AUTH"
    )
    parts = urlsplit(url)
    if parts.scheme.lower() not in _REDIS_SCHEMES:
        raise SettingsError(accepted)
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"{accepted}; its port is not a number") from None
    if parts.scheme.lower() == "unix":
        if not parts.path:
            raise SettingsError(f"{accepted}; the unix:// URL names no socket")
        return
    if not parts.hostname:
        raise SettingsError(f"{accepted}; it names no host")
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise SettingsError(f"{accepted}; its database ({database!r}) is not a number")
    if port == 0:
        raise SettingsError(f"{accepted}; port 0 is not a port")


def _check_jwks(url: str, issuer: str | None, audience: str | None) -> None:
    """Keys fetched over TLS (plain HTTP only from this machine), and tokens bound to one
    issuer and one audience: an identity provider signs tokens for many applications."""
    parts = urlsplit(url)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise SettingsError(
            f"AUTH_JWKS_URL must be an https:// URL (http:// only on this machine), got {url!r}"
        )
    if not issuer or not audience:
        raise SettingsError(
            "AUTH_JWKS_URL needs AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE: the identity "
            "provider signs tokens for other applications too"
        )


def _refuse_demo_beside_real_settings(
    database_url: str, secret: str | None, data_dir: Path
) -> None:
    """FLOWPILOT_DEMO publishes a team-admin token on the GraphiQL page and signs with the
    public demo secret: only for the embedded database `serve` started from `data_dir`."""
    if secret is not None:
        raise SettingsError(
            "FLOWPILOT_DEMO=1 cannot be combined with AUTH_JWT_SECRET: demo mode publishes "
            "a team-admin token on the GraphiQL page; unset FLOWPILOT_DEMO"
        )
    parts = urlsplit(database_url)
    query = parse_qs(parts.query)
    host = parts.hostname or query.get("host", [""])[0]
    try:
        port = parts.port or int(query.get("port", ["5432"])[0])
    except ValueError:
        port = -1
    if not runs_from(data_dir, host, port):
        raise SettingsError(
            "FLOWPILOT_DEMO=1 is only for the embedded database on this machine "
            f"(the one running from {data_dir}), not for DATABASE_URL on {host or 'localhost'}"
            f":{port}; unset FLOWPILOT_DEMO"
        )


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults of the embedded demo run."""

    # None: the embedded PostgreSQL in `data_dir`, and demo mode.
    database_url: str | None = setting("DATABASE_URL", None, secret=True)
    database_read_url: str | None = setting("DATABASE_READ_URL", None, secret=True)
    # `pgbouncer`: both URLs reach PostgreSQL through a transaction-pooling PgBouncer that
    # keeps no prepared statements (persistence.engine.driver_options).
    database_pooler: str = setting("DATABASE_POOLER", "none", parse=_pooler)
    data_dir: Path = setting("FLOWPILOT_DATA_DIR", default_factory=default_data_dir)
    # Required when DATABASE_URL is set; the demo secret is for the embedded database only.
    jwt_secret: str = setting("AUTH_JWT_SECRET", DEMO_JWT_SECRET, secret=True)
    jwt_issuer: str | None = setting("AUTH_JWT_ISSUER", None)
    jwt_audience: str | None = setting("AUTH_JWT_AUDIENCE", None)
    # Longest lifetime (exp - iat) a token may claim; longer ones are refused.
    jwt_max_lifetime_s: float = setting("AUTH_JWT_MAX_LIFETIME_S", 24 * 3600.0, above=0)
    # GraphiQL and introspection: from the environment, on in demo mode and off otherwise.
    graphiql: bool = setting("GRAPHIQL_ENABLED", True)
    introspection: bool = setting("INTROSPECTION_ENABLED", True)
    # The insights page at `/`; None follows `graphiql`.
    insights_page: bool | None = setting("INSIGHTS_PAGE", None)
    # The product's flow editor, for the insights page's links: a URL with `{flowId}`
    # (and optionally `{domain}` in the one that creates a flow); unset, no link is shown.
    insights_flow_editor_url: str | None = setting("INSIGHTS_FLOW_EDITOR_URL", None)
    insights_create_flow_url: str | None = setting("INSIGHTS_CREATE_FLOW_URL", None)
    pool_size: int = setting("DB_POOL_SIZE", 10, above=0)
    max_overflow: int = setting("DB_MAX_OVERFLOW", 5, at_least=0)
    statement_timeout_ms: int = setting(
        "DB_STATEMENT_TIMEOUT_MS", 5000, at_least=0, zero="switches it off"
    )
    request_timeout_s: float = setting(
        "REQUEST_TIMEOUT_S", 10.0, at_least=0, zero="switches it off"
    )
    recalc_interval_s: float = setting(
        "SUCCESS_RATE_RECALC_INTERVAL_S", 900.0, at_least=0, zero="switches it off"
    )
    # PSA outbox recovery: at start and then every this many seconds; 0 switches it off.
    outbox_recovery_interval_s: float = setting(
        "PSA_OUTBOX_RECOVERY_INTERVAL_S", 60.0, at_least=0, zero="switches it off"
    )
    # Finishing started rollup builds (a time-zone change): this often; 0 switches it off.
    rollup_build_interval_s: float = setting(
        "ROLLUP_BUILD_INTERVAL_S", 5.0, at_least=0, zero="switches it off"
    )
    # How a rollup build and `migrate` share the database with the product: the fraction
    # of the time a build works (after each chunk it pauses for the chunk's own time x
    # (1 / duty cycle - 1); persistence/rollups.py), and the memory and parallel workers
    # of each index `migrate` builds on a product table (persistence/operations/online_ddl).
    rollup_build_duty_cycle: float = setting("ROLLUP_BUILD_DUTY_CYCLE", 0.5, above=0, at_most=1)
    # What each chunk of a rollup build aims to take, the longest a product write to the
    # account should wait for it (persistence/chunk_sizing.py sizes chunks by it).
    rollup_build_chunk_target_ms: float = setting(
        "ROLLUP_BUILD_CHUNK_TARGET_MS", 200.0, above=0, at_most=60_000
    )
    migrate_index_memory_mb: int = setting("MIGRATE_INDEX_MEMORY_MB", 64, at_least=1, at_most=8192)
    migrate_index_workers: int = setting(
        "MIGRATE_INDEX_WORKERS",
        0,
        at_least=0,
        zero="builds in the migrating process alone",
        at_most=8,
    )
    # The share of time `migrate` spends building indexes on product tables; it rests the
    # remainder after each build (persistence.operations.online_ddl.IndexBuild).
    migrate_index_duty_cycle: float = setting("MIGRATE_INDEX_DUTY_CYCLE", 0.5, above=0, at_most=1)
    psa_secret_key: str | None = setting("PSA_SECRET_KEY", None, secret=True)
    # Hosts besides ConnectWise's cloud a PSA connection may name (on-premise ConnectWise).
    psa_connectwise_hosts: tuple[str, ...] = setting("PSA_CONNECTWISE_HOSTS", (), parse=_hosts)
    # Abuse limits (docs/operations.md).
    max_query_depth: int = setting("QUERY_MAX_DEPTH", 10, above=0)
    max_query_aliases: int = setting("QUERY_MAX_ALIASES", 30, at_least=0)
    max_query_tokens: int = setting("QUERY_MAX_TOKENS", 2000, above=0)
    max_query_cost: int = setting("QUERY_MAX_COST", 5000, above=0)
    # The lean executor for plain fields (schema/execution_fence.py); off: graphql-core's own.
    lean_execution: bool = setting("LEAN_EXECUTION", True)
    rate_limit_burst_cost: float = setting("RATE_LIMIT_BURST_COST", 50000.0, above=0)
    rate_limit_cost_per_s: float = setting(
        "RATE_LIMIT_COST_PER_S", 10000.0, at_least=0, zero="switches the budget off"
    )
    # An account out of budget is answered after this pause (at most its retryAfter).
    rate_limited_pause_s: float = setting("RATE_LIMITED_PAUSE_S", 1.0, at_least=0)
    # Requests of one account worked on at once (per worker, or in all with shared limits).
    account_max_concurrent_requests: int = setting("ACCOUNT_MAX_CONCURRENT_REQUESTS", 8, above=0)
    max_request_bytes: int = setting("MAX_REQUEST_BYTES", 65536, above=0)
    pool_timeout_s: float = setting("DB_POOL_TIMEOUT_S", 5.0, above=0)
    connect_timeout_s: float = setting("DB_CONNECT_TIMEOUT_S", 5.0, above=0)
    # Persisted queries: APQ cache size, and safelist mode (first-party operations only).
    persisted_queries_safelist: bool = setting("PERSISTED_QUERIES_SAFELIST", False)
    persisted_queries_cache_size: int = setting(
        "PERSISTED_QUERIES_CACHE_SIZE", 1000, at_least=0, zero="keeps none"
    )
    persisted_queries_cache_bytes: int = setting(
        "PERSISTED_QUERIES_CACHE_BYTES", 4 * 1024 * 1024, at_least=0, zero="keeps none"
    )
    # Persisted-query manifests (Apollo or GraphQL Code Generator); the safelist's operations.
    persisted_queries_manifests: tuple[str, ...] = setting("PERSISTED_QUERIES_MANIFESTS", ())
    # Browser origins allowed to call the API (CORS); none by default.
    cors_allowed_origins: tuple[str, ...] = setting("CORS_ALLOWED_ORIGINS", (), parse=_origins)
    # Response cache (docs/caching.md): in-process by default, Redis when REDIS_URL is set.
    response_cache: bool = setting("ANALYTICS_CACHE", True)
    response_cache_max_age_s: float = setting(
        "ANALYTICS_CACHE_MAX_AGE_S", 60.0, at_least=0, zero="serves no stored answer"
    )
    response_cache_max_bytes: int = setting("ANALYTICS_CACHE_MAX_BYTES", 64 * 1024 * 1024, above=0)
    response_cache_hit_cost: float = setting(
        "ANALYTICS_CACHE_HIT_COST", 1.0, at_least=0, zero="charges nothing"
    )
    response_cache_redis_timeout_s: float = setting(
        "ANALYTICS_CACHE_REDIS_TIMEOUT_S", 0.05, above=0
    )
    # The lookup's own asyncpg pool: at most this many connections per engine and worker.
    response_cache_lookup_connections: int = setting(
        "ANALYTICS_CACHE_LOOKUP_CONNECTIONS", 4, above=0
    )
    redis_url: str | None = setting("REDIS_URL", None, secret=True)
    # /metrics answers only requests with `Authorization: Bearer <this>` when set.
    metrics_token: str | None = setting("METRICS_TOKEN", None, secret=True)
    # Seals the values the cache keeps in Redis (HMAC); derived from AUTH_JWT_SECRET if unset.
    response_cache_signing_key: str | None = setting(
        "ANALYTICS_CACHE_SIGNING_KEY", None, secret=True
    )

    # --- tokens signed by an identity provider (core/jwks.py, docs/configuration.md) ---
    # RS256/ES256 tokens verified with this JWKS's keys (besides HS256 with the secret).
    jwks_url: str | None = setting("AUTH_JWKS_URL", None)
    jwks_timeout_s: float = setting("AUTH_JWKS_TIMEOUT_S", 3.0, above=0)
    # How long fetched keys are used before the JWKS is fetched again.
    jwks_cache_s: float = setting("AUTH_JWKS_CACHE_S", 300.0, above=0)

    # --- account limits shared through Redis (service/shared_limits, docs/operations.md) ---
    # With REDIS_URL: every worker and host counts one budget and one set of slots.
    shared_account_limits: bool = setting("ACCOUNT_LIMITS_SHARED", True)
    shared_limits_redis_timeout_s: float = setting("ACCOUNT_LIMITS_REDIS_TIMEOUT_S", 0.05, above=0)

    # Observability: the lowest level logged (DEBUG, INFO, WARNING, ERROR, CRITICAL), and
    # whether trace spans carry the account id (tracing itself is set by OTEL_* variables).
    log_level: str = setting("LOG_LEVEL", "INFO", parse=_log_level)
    trace_account_id: bool = setting("TRACE_ACCOUNT_ID", True)

    # True without DATABASE_URL; the CLI sets FLOWPILOT_DEMO=1 for the workers of the
    # embedded database it started.
    demo: bool = setting("FLOWPILOT_DEMO", True)

    def __post_init__(self) -> None:
        _check_bounds(self)
        if len(self.jwt_secret.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
            raise SettingsError(
                f"AUTH_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes "
                "(a short HS256 key can be guessed offline from any token)"
            )
        if not self.demo and self.jwt_secret == DEMO_JWT_SECRET:
            raise SettingsError(
                "AUTH_JWT_SECRET is the demo secret, which is published with the code: "
                "set a secret of your own outside the embedded demo"
            )
        _check_link_template("INSIGHTS_FLOW_EDITOR_URL", self.insights_flow_editor_url, "{flowId}")
        _check_link_template("INSIGHTS_CREATE_FLOW_URL", self.insights_create_flow_url, None)
        if self.database_pooler not in POOLERS:
            raise SettingsError(f"DATABASE_POOLER must be one of {', '.join(POOLERS)}")
        if self.redis_url is not None:
            _check_redis_url(self.redis_url)
        signing_key = self.response_cache_signing_key
        if signing_key is not None and len(signing_key.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
            raise SettingsError(
                f"ANALYTICS_CACHE_SIGNING_KEY must be at least {MIN_JWT_SECRET_BYTES} bytes"
            )
        if self.jwks_url is not None:
            _check_jwks(self.jwks_url, self.jwt_issuer, self.jwt_audience)

    @property
    def embedded(self) -> bool:
        """True when no database is configured and the service runs its own PostgreSQL."""
        return self.database_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        database_url = env_setting("database_url", environ)
        demo = database_url is None or bool(env_setting("demo", environ))
        secret = env_setting("jwt_secret", environ)
        if demo and database_url is not None:
            data_dir = env_setting("data_dir", environ) or default_data_dir()
            _refuse_demo_beside_real_settings(database_url, secret, data_dir)
        if secret is None and not demo:
            raise SettingsError(
                "AUTH_JWT_SECRET must be set (or AUTH_JWT_SECRET_FILE) when DATABASE_URL is "
                "set (the demo secret is only for the embedded database)"
            )
        values: dict[str, Any] = {}
        for name in _ENV_FIELDS:
            if name not in {"database_url", "demo", "jwt_secret"}:
                value = env_setting(name, environ)
                if value is not None:
                    values[name] = value
        values.setdefault("graphiql", demo)
        values.setdefault("introspection", demo)
        values.setdefault("insights_page", values["graphiql"])
        return cls(
            database_url=database_url,
            jwt_secret=DEMO_JWT_SECRET if secret is None else secret,
            demo=demo,
            **values,
        )


_TYPES = get_type_hints(Settings)
_ENV_FIELDS = {item.name: item for item in fields(Settings) if "env" in item.metadata}


def env_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The setting `name` (a field of `Settings`) as the environment gives it, parsed;
    None when its variable is unset or empty (the field's default applies). A secret may
    come from the file its `<VARIABLE>_FILE` names instead."""
    declared = _ENV_FIELDS[name]
    variable = declared.metadata["env"]
    environ = os.environ if environ is None else environ
    if declared.metadata["secret"]:
        try:
            raw = secret_value(variable, environ)
        except SecretFileError as error:
            raise SettingsError(str(error)) from None
    else:
        raw = environ.get(variable)
    if not raw:
        return None
    parse: Parser = declared.metadata["parse"] or _PARSERS[_TYPES[name]]
    return parse(variable, raw)


def checked_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The setting `name` from the environment, else its default, within its bound
    (SettingsError otherwise): for a command that needs a few settings and none of the
    service's rules between them (`migrate` needs no token secret)."""
    declared = _ENV_FIELDS[name]
    value = env_setting(name, environ)
    if value is None:
        value = declared.default
    _check_bound(declared, value)
    return value
