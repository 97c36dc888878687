"""Settings the service refuses at start, before it serves anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import DEMO_JWT_SECRET, Settings, SettingsError

REAL_SECRET = "an-operator-secret-of-32-bytes-or-more"
_VARIABLES = (
    "DATABASE_URL",
    "FLOWPILOT_DATA_DIR",
    "AUTH_JWT_SECRET",
    "FLOWPILOT_DEMO",
    "AUTH_JWT_MAX_LIFETIME_S",
    "ANALYTICS_CACHE_LOOKUP_CONNECTIONS",
    "DATABASE_POOLER",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("secret", ["x", "31-bytes-are-not-enough-for-it!"])
def test_a_short_secret_is_refused(env: pytest.MonkeyPatch, secret: str) -> None:
    env.setenv("DATABASE_URL", "postgresql://app@db:5432/flowpilot")
    env.setenv("AUTH_JWT_SECRET", secret)
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        Settings.from_env()
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        Settings(jwt_secret=secret)


def test_a_32_byte_secret_is_accepted(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://app@db:5432/flowpilot")
    env.setenv("AUTH_JWT_SECRET", "s" * 32)
    assert Settings.from_env().jwt_secret == "s" * 32


def test_the_published_demo_secret_is_refused_outside_the_demo(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://app@db:5432/flowpilot")
    env.setenv("AUTH_JWT_SECRET", DEMO_JWT_SECRET)
    with pytest.raises(SettingsError, match="the demo secret"):
        Settings.from_env()
    with pytest.raises(SettingsError, match="the demo secret"):
        Settings(database_url="postgresql://app@db:5432/flowpilot", demo=False)
    assert Settings().jwt_secret == DEMO_JWT_SECRET  # the embedded demo keeps it


def test_token_lifetime_limit_is_a_setting(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().jwt_max_lifetime_s == 24 * 3600
    env.setenv("AUTH_JWT_MAX_LIFETIME_S", "3600")
    assert Settings.from_env().jwt_max_lifetime_s == 3600
    env.setenv("AUTH_JWT_MAX_LIFETIME_S", "0")
    with pytest.raises(SettingsError, match="AUTH_JWT_MAX_LIFETIME_S"):
        Settings.from_env()


def test_the_lookup_pool_size_is_a_setting(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().response_cache_lookup_connections == 4
    env.setenv("ANALYTICS_CACHE_LOOKUP_CONNECTIONS", "2")
    assert Settings.from_env().response_cache_lookup_connections == 2
    env.setenv("ANALYTICS_CACHE_LOOKUP_CONNECTIONS", "0")
    with pytest.raises(SettingsError, match="ANALYTICS_CACHE_LOOKUP_CONNECTIONS"):
        Settings.from_env()


def test_demo_mode_beside_a_real_secret_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://app@127.0.0.1:5432/flowpilot")
    env.setenv("AUTH_JWT_SECRET", REAL_SECRET)
    env.setenv("FLOWPILOT_DEMO", "1")
    with pytest.raises(SettingsError, match="FLOWPILOT_DEMO=1 cannot be combined"):
        Settings.from_env()


def test_demo_mode_against_a_remote_database_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://app@db.example.com:5432/flowpilot")
    env.setenv("FLOWPILOT_DEMO", "1")
    with pytest.raises(SettingsError, match="only for the embedded database"):
        Settings.from_env()


def _running_from(data_dir: Path, port: int, socket_dir: str) -> None:
    """The postmaster.pid a server running from `data_dir` writes (pid, folder, start,
    port, socket folder, listen address, ...)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lines = ["4242", str(data_dir), "1700000000", str(port), socket_dir, "127.0.0.1"]
    (data_dir / "postmaster.pid").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("url", "port", "socket_dir"),
    [
        ("postgresql://flowpilot_app@127.0.0.1:54321/flowpilot", 54321, ""),
        (
            "postgresql://postgres:@/postgres?host=/tmp/pgserver-socket",
            5432,
            "/tmp/pgserver-socket",
        ),
    ],
)
def test_demo_mode_on_the_embedded_database_still_works(
    env: pytest.MonkeyPatch, tmp_path: Path, url: str, port: int, socket_dir: str
) -> None:
    _running_from(tmp_path / "pgdata", port, socket_dir)
    env.setenv("FLOWPILOT_DATA_DIR", str(tmp_path / "pgdata"))
    env.setenv("DATABASE_URL", url)
    env.setenv("FLOWPILOT_DEMO", "1")
    settings = Settings.from_env()
    assert settings.demo and settings.graphiql


@pytest.mark.parametrize(
    "url",
    [
        # Another server on this machine: local, but not the one the data folder runs.
        "postgresql://app@127.0.0.1:5432/product",
        "postgresql://app@localhost/product",
        "postgresql://app@/product?host=/var/run/postgresql",
    ],
)
def test_demo_mode_against_another_local_database_is_refused(
    env: pytest.MonkeyPatch, tmp_path: Path, url: str
) -> None:
    env.setenv("FLOWPILOT_DATA_DIR", str(tmp_path / "pgdata"))
    env.setenv("DATABASE_URL", url)
    env.setenv("FLOWPILOT_DEMO", "1")
    with pytest.raises(SettingsError, match="only for the embedded database on this machine"):
        Settings.from_env()  # no embedded server runs from the folder
    _running_from(tmp_path / "pgdata", 54321, "/tmp/pgserver-socket")
    with pytest.raises(SettingsError, match="only for the embedded database on this machine"):
        Settings.from_env()  # one runs, on another port and socket folder


def test_the_data_folder_is_under_the_current_directory_not_the_source(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.delenv("FLOWPILOT_DATA_DIR", raising=False)
    env.chdir(tmp_path)
    assert Settings.from_env().data_dir == tmp_path / "var" / "pgdata"
    env.setenv("FLOWPILOT_DATA_DIR", str(tmp_path / "elsewhere"))
    assert Settings.from_env().data_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("QUERY_MAX_DEPTH", "ten", "QUERY_MAX_DEPTH must be a whole number, got 'ten'"),
        ("REQUEST_TIMEOUT_S", "soon", "REQUEST_TIMEOUT_S must be a number, got 'soon'"),
        ("ANALYTICS_CACHE", "maybe", "ANALYTICS_CACHE must be true or false, got 'maybe'"),
        (
            "DATABASE_POOLER",
            "pgpool",
            "DATABASE_POOLER must be one of none, pgbouncer, got 'pgpool'",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    env: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    env.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    assert str(caught.value) == message


def test_the_pooler_is_a_setting(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().database_pooler == "none"
    env.setenv("DATABASE_POOLER", "PgBouncer")
    assert Settings.from_env().database_pooler == "pgbouncer"
    with pytest.raises(SettingsError, match="DATABASE_POOLER must be one of none, pgbouncer"):
        Settings(database_pooler="odyssey")
