"""The operator commands: migrate, downgrade, seed-demo, token and create-app-role."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth import issue_token
from core.secret_files import non_empty, read_secret_file, strip_newline
from core.settings import Settings
from persistence.operations.demo_seed import (
    DEMO_ACCOUNT_ID,
    DEMO_TEAM_ADMIN_ID,
    DemoSummary,
    seed_demo,
)
from persistence.operations.migrate import current_revision, downgrade, head_revision
from persistence.operations.roles import check_role_name, ensure_app_role
from service.cli.database import CliError, Target, database, probe, resolve_target, with_user
from service.cli.migrate import database_at_head


def _say(line: str) -> None:
    print(line, flush=True)


async def create_role(engine: AsyncEngine, name: str, password: str | None) -> None:
    async with engine.begin() as connection:
        await ensure_app_role(connection, name, password)


def _suffix(revision: str) -> str:
    return " (head)" if revision == head_revision() else ""


async def _downgrade(revision: str) -> str:
    target = await resolve_target()
    await probe(target.url)
    async with database(target.url) as engine, engine.begin() as connection:
        await downgrade(connection, revision)
        reached = await current_revision(connection)
    return reached or "base"


def cmd_downgrade(args: argparse.Namespace) -> int:
    reached = asyncio.run(_downgrade(args.revision))
    _say(f"database schema at {reached}{_suffix(reached)}")
    return 0


async def _seed_demo(seed: int) -> DemoSummary:
    async with database_at_head() as engine:
        return await seed_demo(engine, seed)


def cmd_seed_demo(args: argparse.Namespace) -> int:
    _say(asyncio.run(_seed_demo(args.seed)).describe())
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    account = args.account or DEMO_ACCOUNT_ID
    user = args.user
    if user is None and args.account is None:
        user = DEMO_TEAM_ADMIN_ID
    if args.hours * 3600 > settings.jwt_max_lifetime_s:
        raise CliError(
            f"--hours {args.hours:g} is longer than AUTH_JWT_MAX_LIFETIME_S "
            f"({settings.jwt_max_lifetime_s:g} s): the service would refuse the token"
        )
    token = issue_token(
        settings,
        account_id=account,
        role=args.role,
        user_id=user,
        lifetime=timedelta(hours=args.hours),
    )
    _say(token)
    return 0


async def _create_app_role(name: str, password: str | None) -> tuple[Target, str | None]:
    target = await resolve_target()
    await probe(target.url)
    if password is None and not target.embedded:
        password = secrets.token_urlsafe(24)
    async with database(target.url) as engine:
        await create_role(engine, name, password)
    return target, password


def _given_password(args: argparse.Namespace) -> str | None:
    """The password of `--password-file` or `--password-stdin` (one trailing newline
    dropped), None for a generated one. `--password P` is refused: a command line is
    visible to every user of the machine (`ps`) and kept in shell history."""
    if args.password is not None:
        raise CliError(
            "--password would show the password to every user of this machine (ps, shell "
            "history): use --password-file PATH or --password-stdin",
            code=2,
        )
    if args.password_file is not None:
        return read_secret_file(args.password_file, "--password-file")
    if args.password_stdin:
        return non_empty(strip_newline(sys.stdin.read()), "--password-stdin: read no password")
    return None


def cmd_create_app_role(args: argparse.Namespace) -> int:
    name = check_role_name(args.name)
    target, password = asyncio.run(_create_app_role(name, _given_password(args)))
    _say(
        f"role {name} is ready (login, no superuser, no BYPASSRLS, "
        "only what the API reads and writes)"
    )
    _say(f"DATABASE_URL={with_user(target.url, name, password)}")
    if target.embedded:
        print(
            "note: the embedded server trusts local connections; `serve` uses this role itself",
            file=sys.stderr,
        )
    return 0


def positive_hours(raw: str) -> float:
    try:
        hours = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {raw!r}") from None
    if not 0 < hours <= 24 * 366:
        raise argparse.ArgumentTypeError("hours must be above 0 and at most a year")
    return hours
