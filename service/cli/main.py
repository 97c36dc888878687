"""The command line: `flowpilot-analytics` (or `python main.py`) `serve | migrate | ...`.

Every failure an operator can cause (a bad URL or setting, a server that is down, an
unknown revision, a bad role name) ends in one line on stderr and a non-zero exit,
never a traceback: 1 when the environment is wrong, 2 when the command line is.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Sequence

import asyncpg
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from core.auth import ROLES
from core.secret_files import SecretFileError
from core.settings import SettingsError
from persistence.engine import DatabaseUrlError
from persistence.operations.roles import DEFAULT_APP_ROLE, RoleNameError
from service.cli.commands import (
    cmd_create_app_role,
    cmd_downgrade,
    cmd_seed_demo,
    cmd_token,
    positive_hours,
)
from service.cli.database import CliError
from service.cli.migrate import cmd_migrate
from service.cli.name import CHECKOUT, SCRIPT, remember
from service.cli.psa_secrets import add_command as add_reencrypt_psa_secrets
from service.cli.recalc import cmd_recalc_success_rates
from service.cli.rollups import cmd_rebuild_rollups
from service.cli.serve import cmd_serve
from service.pipeline.pq_manifests import cmd_persisted_query_manifest
from service.runtime.embedded import EmbeddedPostgresError

Command = Callable[[argparse.Namespace], int]


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {raw!r}") from None


def _chunk(raw: str) -> int:
    try:
        chunk = int(raw)
    except ValueError:
        chunk = 0
    if chunk < 1:
        raise argparse.ArgumentTypeError(f"not a positive number of sessions: {raw!r}")
    return chunk


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {raw!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError("port must be between 1 and 65535")
    return port


def _count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser(prog: str = CHECKOUT) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="FlowPilot Analytics API. Without DATABASE_URL the commands use the "
        "embedded PostgreSQL in FLOWPILOT_DATA_DIR (default var/pgdata).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API (the demo when DATABASE_URL is unset)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.add_argument("--workers", type=_count, default=None, help="worker processes")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser(
        "migrate", help="upgrade the database schema (adopting the product's tables)"
    )
    migrate.add_argument("--to", default="head", metavar="REV", help="target (default: head)")
    shown = migrate.add_mutually_exclusive_group()
    shown.add_argument(
        "--dry-run", action="store_true", help="print what would be done and change nothing"
    )
    shown.add_argument(
        "--sql",
        action="store_true",
        help="print the SQL that would run, with the lock each statement takes; change nothing",
    )
    migrate.add_argument(
        "--enable-row-security",
        action="store_true",
        help="on adopting: enable row-level security on product tables that have it off, "
        "with a policy that keeps every row for the product's roles",
    )
    migrate.add_argument(
        "--chunk",
        type=_chunk,
        default=None,
        metavar="N",
        help="build the adopted rows' rollups in exactly N sessions per transaction "
        "(default: each transaction sized to take about ROLLUP_BUILD_CHUNK_TARGET_MS)",
    )
    migrate.add_argument(
        "--trust-schema-creators",
        action="store_true",
        help="warn, not refuse, where other roles may create objects in schema public",
    )
    migrate.set_defaults(handler=cmd_migrate)

    downgrade = commands.add_parser("downgrade", help="downgrade the database schema")
    downgrade.add_argument("revision", metavar="REV", help="target revision, or 'base'")
    downgrade.set_defaults(handler=cmd_downgrade)

    seed = commands.add_parser("seed-demo", help="insert the demo account (once)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    seed.set_defaults(handler=cmd_seed_demo)

    token = commands.add_parser("token", help="print a JWT signed with the configured secret")
    token.add_argument("--role", choices=ROLES, default="team_admin")
    token.add_argument("--account", type=_uuid, default=None, help="default: the demo account")
    token.add_argument(
        "--user", type=_uuid, default=None, help="default: the demo team admin (demo account)"
    )
    token.add_argument("--hours", type=positive_hours, default=12.0, help="lifetime (default 12)")
    token.set_defaults(handler=cmd_token)

    manifest = commands.add_parser(
        "persisted-query-manifest",
        help="write the persisted-query manifest of queries/ (Apollo's format)",
    )
    manifest.add_argument("--output", default=None, help="file to write (default: stdout)")
    manifest.set_defaults(handler=cmd_persisted_query_manifest)

    role = commands.add_parser(
        "create-app-role", help="create/update the non-superuser role the API connects as"
    )
    role.add_argument("--name", default=DEFAULT_APP_ROLE)
    password = role.add_mutually_exclusive_group()
    password.add_argument(
        "--password-file", default=None, metavar="PATH", help="read the password from PATH"
    )
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    # Refused with a one-line pointer to the two above (argv is visible to every user).
    password.add_argument("--password", default=None, help=argparse.SUPPRESS)
    role.set_defaults(handler=cmd_create_app_role)
    role.epilog = "Without --password-file or --password-stdin: a new random password."

    recalc = commands.add_parser(
        "recalc-success-rates", help="recalculate every flow's success rate now"
    )
    recalc.set_defaults(handler=cmd_recalc_success_rates)

    rollups = commands.add_parser(
        "rebuild-rollups", help="recompute the analytics rollups (after a bulk load)"
    )
    rollups.add_argument("--account", type=_uuid, default=None, help="default: every account")
    rollups.add_argument(
        "--chunk",
        type=_chunk,
        default=None,
        metavar="N",
        help="exactly N sessions per transaction (default: each transaction sized to take "
        "about ROLLUP_BUILD_CHUNK_TARGET_MS); a product write waits for one",
    )
    rollups.set_defaults(handler=cmd_rebuild_rollups)

    add_reencrypt_psa_secrets(commands)
    return parser


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _database_error(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    return f"database error: {_first_line(cause)}"


def console_main() -> int:
    """The installed `flowpilot-analytics` script."""
    return main(prog=SCRIPT)


def main(argv: Sequence[str] | None = None, prog: str = CHECKOUT) -> int:
    remember(prog)
    parser = build_parser(prog)
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()  # no command: say which there are
        return 0
    args = parser.parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except CliError as error:
        message, code = str(error), error.code
    except RoleNameError as error:
        message, code = str(error), 2
    except (DatabaseUrlError, SettingsError, SecretFileError, EmbeddedPostgresError) as error:
        message, code = str(error), 1
    except CommandError as error:  # Alembic: unknown revision, ambiguous target...
        message, code = f"migration: {_first_line(error)}", 1
    except (SQLAlchemyError, asyncpg.PostgresError) as error:
        message, code = _database_error(error), 1
    except KeyboardInterrupt:
        return 130
    print(f"error: {message}", file=sys.stderr)
    return code
