"""`python main.py reencrypt-psa-secrets`: rotate the key of the stored PSA private keys.

Rotation: put the new key first in PSA_SECRET_KEY and keep the old one after it
(`PSA_SECRET_KEY=new,old`), restart the servers (they now encrypt with the new key and
still read the old), run this command, then drop the old key. Each account's private key
is decrypted with whichever key fits and encrypted again with the first, bound to its
account (tokens from before binding become bound too). One transaction per account.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from dataclasses import dataclass, field

from sqlalchemy import text

from persistence.engine import create_sessionmaker
from persistence.psa_connections import reencrypt_private_key
from persistence.tenancy import account_transaction
from psa.credentials import secret_key_from_env
from psa.errors import PsaConfigurationError
from service.cli.database import CliError
from service.cli.migrate import database_at_head

_ACCOUNTS = text("SELECT id FROM flowpilot_account_ids() AS t(id)")


@dataclass
class ReencryptResult:
    reencrypted: int = 0
    failed: list[uuid.UUID] = field(default_factory=list)


async def reencrypt(secret_key: bytes) -> ReencryptResult:
    """Re-encrypt every account's stored private key with the first key of the list."""
    result = ReencryptResult()
    async with database_at_head() as engine:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            accounts = list((await session.execute(_ACCOUNTS)).scalars())
        for account_id in accounts:
            try:
                async with account_transaction(sessionmaker, account_id) as session:
                    if await reencrypt_private_key(session, account_id, secret_key):
                        result.reencrypted += 1
            except PsaConfigurationError:
                result.failed.append(account_id)
    return result


def cmd_reencrypt_psa_secrets(args: argparse.Namespace) -> int:
    try:
        secret_key = secret_key_from_env()
    except PsaConfigurationError as error:
        raise CliError(error.message) from None
    result = asyncio.run(reencrypt(secret_key))
    print(
        f"PSA secrets re-encrypted with the first key of PSA_SECRET_KEY: "
        f"{result.reencrypted} connections",
        file=sys.stderr,
    )
    if result.failed:
        ids = ", ".join(str(account) for account in result.failed)
        raise CliError(
            f"{len(result.failed)} stored private keys could not be decrypted by any key of "
            f"PSA_SECRET_KEY (or belong to another account); save those connections again: {ids}"
        )
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the subcommand on the CLI's subparsers."""
    parser = commands.add_parser(
        "reencrypt-psa-secrets",
        help="re-encrypt stored PSA private keys with the first key of PSA_SECRET_KEY",
    )
    parser.set_defaults(handler=cmd_reencrypt_psa_secrets)
