"""Paging of long lists: a domain's flow preview and the needs-attention list."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.metrics.keys import domain_key_sql
from persistence.analytics.flows import _BY_DOMAIN_KEYS, TREE_KEY
from persistence.models import CATEGORY_KEY_SQL
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for


async def test_domain_flows_first_returns_the_first_flows_by_name(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    for name in ["delta", "Alpha", "charlie", "bravo"]:
        await account.flow(name, "Printers")
    await account.flow("echo", " printers ")
    await account.flow("zulu", "VPN")
    await account.flow("archived", "Printers", status="archived")
    query = """
      query($n: Int) { coverage { domains { name flowCount flows(first: $n) { flow { name } } } } }
    """
    token = token_for(account.account_id)
    two = (await api.data(query, {"n": 2}, token=token))["coverage"]["domains"]
    everything = (await api.data(query, {"n": None}, token=token))["coverage"]["domains"]
    by_name = {domain["name"]: domain for domain in two}
    assert by_name["Printers"]["flowCount"] == 5
    assert [flow["flow"]["name"] for flow in by_name["Printers"]["flows"]] == ["Alpha", "bravo"]
    assert [flow["flow"]["name"] for flow in by_name["VPN"]["flows"]] == ["zulu"]
    all_printers = next(domain for domain in everything if domain["name"] == "Printers")
    assert [flow["flow"]["name"] for flow in all_printers["flows"]] == [
        "Alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
    ]


async def test_domain_flows_first_must_not_be_negative(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    await account.flow("a", "VPN")
    body = await api.execute(
        "{ coverage { domains { flows(first: -1) { flow { name } } } } }",
        token=token_for(account.account_id),
    )
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]


async def test_needs_attention_pages_worst_first_with_its_count(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    now = datetime.now(UTC)
    # Never matched (STALE): quality 0 each, so ties order by name.
    for name in ["stale-c", "stale-a", "stale-b"]:
        await account.flow(name, "VPN")
    # Matched an hour ago, 1 of 3 resolved (LOW_SUCCESS_RATE): quality > 0.
    low = await account.flow("low", "VPN", last_matched_at=now - timedelta(hours=1))
    for status in ["resolved", "escalated", "escalated"]:
        await account.session(now - timedelta(hours=2), flow_id=low, status=status)
    # Healthy: matched recently, all resolved; not flagged.
    good = await account.flow("good", "VPN", last_matched_at=now - timedelta(hours=1))
    await account.session(now - timedelta(hours=2), flow_id=good, status="resolved")
    query = """
      query($first: Int, $offset: Int!) {
        flowQuality {
          needsAttentionCount needsAttention(first: $first, offset: $offset) { flow { name } }
        }
      }
    """
    token = token_for(account.account_id)
    first_page = (await api.data(query, {"first": 2, "offset": 0}, token=token))["flowQuality"]
    second_page = (await api.data(query, {"first": 2, "offset": 2}, token=token))["flowQuality"]
    whole = (await api.data(query, {"first": None, "offset": 0}, token=token))["flowQuality"]
    assert first_page["needsAttentionCount"] == 4
    assert [flow["flow"]["name"] for flow in first_page["needsAttention"]] == ["stale-a", "stale-b"]
    assert [flow["flow"]["name"] for flow in second_page["needsAttention"]] == ["stale-c", "low"]
    assert [flow["flow"]["name"] for flow in whole["needsAttention"]] == [
        "stale-a",
        "stale-b",
        "stale-c",
        "low",
    ]


async def test_the_flow_indexes_key_on_the_domain_key_the_flows_are_read_by(
    engine: AsyncEngine,
) -> None:
    """Expression indexes serve only queries that spell the same expression."""
    assert domain_key_sql("category") == CATEGORY_KEY_SQL
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'trees' "
                "AND indexname LIKE 'ix_trees_account_category_key%' ORDER BY indexname"
            )
        )
        definitions: dict[str, str] = {name: definition for name, definition in rows}
    key = (
        "NULLIF(lower(btrim(regexp_replace(category, '\\s+'::text, ' '::text, 'g'::text))), "
        "''::text)"
    )
    assert definitions == {
        "ix_trees_account_category_key": "CREATE INDEX ix_trees_account_category_key ON "
        f"public.trees USING btree (account_id, {key})",
        "ix_trees_account_category_key_name": "CREATE INDEX ix_trees_account_category_key_name "
        f'ON public.trees USING btree (account_id, {key}, name COLLATE "C", id)',
    }
    assert domain_key_sql("t.category") == TREE_KEY
    # The flows' preview query can find its domains' flows through one of them (which one
    # is the planner's choice, by what the database holds). The plain account index is
    # dropped for the look (the transaction is rolled back): else, on a table this small,
    # the planner may prefer it, and the plan would say nothing of the expression's spelling.
    async with engine.connect() as connection:
        await connection.execute(text("DROP INDEX ix_trees_account_id"))
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        await connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = await connection.execute(
            text(f"EXPLAIN {_BY_DOMAIN_KEYS}"),
            {"keys": ["vpn"], "per_key": 3, "account_id": uuid.uuid4()},
        )
        lines = [line.strip() for (line,) in plan]
        await connection.rollback()  # the index is back
    # An index scan or an index-only one, as the top node or under another.
    assert any(
        re.search(r"Index (Only )?Scan using ix_trees_account_category_key", line) for line in lines
    ), lines
    # The domain's own key and each key aliased to it (an Append the planner may show as
    # its first branch's expression, the wanted key).
    assert any(
        line.startswith("Index Cond: ((account_id = ")
        and re.search(re.escape(f"{key} = ") + r"\(?(k|src)\.key\)?", line)
        for line in lines
    ), lines
