"""With aliases, the rollup statements answer exactly what the reference scan answers with
the spellings merged; removing the aliases restores the plain answers.

Random accounts of the rollup equivalence test (several zones, messy spellings, blank
domains, archived flows), written and aliased as the API's unprivileged role.
"""

from __future__ import annotations

import random
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics.window import Window
from persistence.analytics import domains, flows, sessions
from persistence.domain_aliases import add_alias, remove_alias
from persistence.reader import Reader
from persistence.tenancy import account_transaction
from tests import reference_scan as reference
from tests.rollups.test_equivalence import (  # noqa: F401  (the fixture is used by name)
    _populate,
    _same_stats,
    _windows,
    app_sessionmaker,
)

# "E-mail" and "VPN" merge into other domains; "Active  Directory" too, into a domain that
# has another alias. Targets keep their own spellings as names.
ALIASES = {"e-mail": "network", "vpn": "printers", "active directory": "printers"}


async def _compare_merged(
    session: AsyncSession, account_id: uuid.UUID, window: Window, aliases: dict[str, str]
) -> None:
    reader = await Reader.in_session(session)
    expected_set = await reference.merged_domain_set(session, account_id, window, aliases)
    plain = await reference.domain_set(session, account_id, window)
    if not aliases:  # the Python merge is the plain reference without aliases
        assert expected_set == plain
    elif (window.last_day - window.first_day).days > 300:  # the year has every spelling: merged
        assert len(expected_set.domains) == len(plain.domains) - len(aliases)
    actual_set, set_counts = await domains.domain_set_with_counts(reader, account_id, window)
    assert actual_set == expected_set
    assert not {row.key for row in actual_set.domains} & set(aliases)
    keys = [row.key for row in expected_set.domains] + ["no such domain"]
    expected_counts = await reference.merged_session_counts_by_domain(
        session, account_id, window, keys, aliases
    )
    assert await sessions.session_counts_by_domain(reader, account_id, window, keys) == (
        expected_counts
    )
    assert set_counts == expected_counts
    # Every domain's sessions add up to the window's, with the unmapped ones.
    total = await sessions.session_totals(reader, account_id, window)
    assert (
        sum(row.session_count for row in actual_set.domains) + (actual_set.unmapped_session_count)
        == total.sessions
    )
    for per_key in (1, 2, None):
        expected_previews = await reference.merged_flow_previews(
            session, account_id, window, keys, per_key, aliases
        )
        assert await flows.flows_by_domain_keys(reader, account_id, keys, per_key) == (
            expected_previews
        )
        with_stats = await flows.flows_with_stats_by_domain_keys(
            reader, account_id, window, keys, per_key
        )
        assert {key: [row for row, _ in pairs] for key, pairs in with_stats.items()} == (
            expected_previews
        )
    actual_flows = {
        row.id: (row, stats)
        for row, stats in await flows.flows_with_stats(reader, account_id, window)
    }
    expected_flows = {
        row.id: (row, stats)
        for row, stats in await reference.merged_flows_with_stats(
            session, account_id, window, aliases
        )
    }
    assert actual_flows.keys() == expected_flows.keys()
    for flow_id, (row, stats) in expected_flows.items():
        assert actual_flows[flow_id][0] == row
        _same_stats(actual_flows[flow_id][1], stats)
    by_id = await flows.flows_by_ids(reader, account_id, list(expected_flows))
    assert {flow_id: row for flow_id, row in by_id.items()} == {
        flow_id: row for flow_id, (row, _stats) in expected_flows.items()
    }


async def _check(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    timezone: str,
    aliases: dict[str, str],
) -> None:
    async with account_transaction(sessionmaker, account_id) as session:
        for window in _windows(timezone):
            await _compare_merged(session, account_id, window, aliases)


async def test_aliases_merge_exactly_and_removal_restores(
    app_sessionmaker: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:
    rng = random.Random(11)
    tenants = await _populate(app_sessionmaker, rng)
    aliased, other = tenants[0], tenants[1]
    await _check(app_sessionmaker, aliased.account_id, aliased.timezone, {})
    async with account_transaction(app_sessionmaker, aliased.account_id) as session:
        reader = await Reader.in_session(session)
        for spelling, target in (
            ("E-MAIL", "Network"),
            ("vpn", "printers"),
            ("active directory", "PRINTERS"),
        ):
            assert await add_alias(reader, aliased.account_id, None, spelling, target)
    await _check(app_sessionmaker, aliased.account_id, aliased.timezone, ALIASES)
    # Another account's answers do not change.
    await _check(app_sessionmaker, other.account_id, other.timezone, {})
    async with account_transaction(app_sessionmaker, aliased.account_id) as session:
        reader = await Reader.in_session(session)
        assert await remove_alias(reader, aliased.account_id, None, "vpn") == "printers"
    partly = {key: target for key, target in ALIASES.items() if key != "vpn"}
    await _check(app_sessionmaker, aliased.account_id, aliased.timezone, partly)
    async with account_transaction(app_sessionmaker, aliased.account_id) as session:
        reader = await Reader.in_session(session)
        for spelling in ("e-mail", "active directory"):
            await remove_alias(reader, aliased.account_id, None, spelling)
    await _check(app_sessionmaker, aliased.account_id, aliased.timezone, {})
