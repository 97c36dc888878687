"""Domain aliases of one account: the list, and adding, removing and dismissing pairs.

A team admin maps a spelling onto another domain (docs/api.md, "Domain aliases"); the
tabs merge at read time (persistence.analytics.aliases), so a change shows in the next
read. Every change writes its audit row in the same transaction, and the tables'
triggers bump the account's data version there too (revision 0015), so no cached answer
outlives it. Mappings stay flat: a target is never an alias, and a target of aliases
never becomes one. A per-account advisory lock orders concurrent changes, so two admins
cannot build a chain or pass the bound between them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from core.metrics.keys import domain_key, domain_key_sql
from persistence.models.rollups import TOP_LEVEL
from persistence.reader import Reader

MAX_ALIASES = 200
"""At most this many aliases per account: enough for a messy taxonomy, and it bounds the
mapping every tab statement joins."""

_TREE_KEY = domain_key_sql("t.category")
_TRIMMED = "regexp_replace({}, '^\\s+|\\s+$', '', 'g')"

# Whether `:key` is a domain of the account: a non-archived flow's category, or the
# problem domain of one of its FlowPilot sessions (any day: the rollups' top level tiles
# every day). Bound to the account, another account's spelling is simply unknown.
_KNOWN = f"""
    SELECT EXISTS (SELECT 1 FROM trees t WHERE t.account_id = :account_id
                     AND t.status <> 'archived' AND {_TREE_KEY} = CAST(:key AS text))
        OR EXISTS (SELECT 1 FROM rollup_session_blocks r WHERE r.account_id = :account_id
                     AND r.level = {TOP_LEVEL} AND r.domain_key = CAST(:key AS text)
                     AND r.sessions > 0) AS known
"""
# A target's name outside any window: its flows' smallest trimmed spelling, else its most
# frequent session spelling of all time (ties: the smallest), else the key itself.
_TARGET_NAME = f"""
    coalesce(
        (SELECT min({_TRIMMED.format("t.category")} COLLATE "C") FROM trees t
         WHERE t.account_id = :account_id AND t.status <> 'archived'
           AND {_TREE_KEY} = a.target_key),
        (SELECT r.spelling FROM rollup_session_blocks r
         WHERE r.account_id = :account_id AND r.level = {TOP_LEVEL}
           AND r.domain_key = a.target_key
         GROUP BY r.spelling HAVING sum(r.sessions) > 0
         ORDER BY sum(r.sessions) DESC, r.spelling COLLATE "C" LIMIT 1),
        a.target_key)
"""
_LIST = f"""
    SELECT a.spelling, a.alias_key, a.target_key, {_TARGET_NAME} AS target_name,
           a.created_at, a.created_by
    FROM domain_aliases a
    WHERE a.account_id = :account_id
    ORDER BY a.alias_key COLLATE "C"
"""
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('domain_aliases:' || :account, 0))"
_STATE = """
    SELECT (SELECT a.target_key FROM domain_aliases a
            WHERE a.account_id = :account_id AND a.alias_key = :alias_key) AS aliased_to,
           EXISTS (SELECT 1 FROM domain_aliases a
                   WHERE a.account_id = :account_id AND a.target_key = :alias_key) AS is_target,
           (SELECT a.target_key FROM domain_aliases a
            WHERE a.account_id = :account_id AND a.alias_key = :target_key) AS target_aliased_to,
           (SELECT count(*) FROM domain_aliases a WHERE a.account_id = :account_id) AS aliases
"""
_INSERT = """
    INSERT INTO domain_aliases (account_id, alias_key, spelling, target_key, created_by)
    VALUES (:account_id, :alias_key, :spelling, :target_key, :user_id)
"""
_DELETE = """
    DELETE FROM domain_aliases WHERE account_id = :account_id AND alias_key = :alias_key
    RETURNING target_key
"""
_EVENT = """
    INSERT INTO domain_alias_events (account_id, alias_key, target_key, action, user_id)
    VALUES (:account_id, :alias_key, :target_key, :action, :user_id)
"""
_DISMISSED = """
    SELECT EXISTS (SELECT 1 FROM domain_alias_events e
                   WHERE e.account_id = :account_id AND e.alias_key = :alias_key
                     AND e.target_key = :target_key AND e.action = 'dismissed') AS dismissed
"""


@dataclass(frozen=True, slots=True)
class AliasRow:
    """One alias as listed: the spelling as the admin gave it, both keys, the target's
    name, and who made it when."""

    spelling: str
    key: str
    target_key: str
    target_name: str
    created_at: datetime
    created_by: uuid.UUID | None


class AliasRefused(Exception):
    """A change that breaks a rule; nothing was written. `reason` is the error code's
    suffix, `argument` the input it is about."""

    def __init__(self, reason: str, message: str, argument: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.argument = argument


def _key(text: str, argument: str) -> str:
    if "\x00" in text:
        raise AliasRefused("INVALID", f"{argument} must not contain NUL characters", argument)
    key = domain_key(text)
    if key is None:
        raise AliasRefused("INVALID", f"{argument} must not be blank", argument)
    return key


async def list_aliases(reader: Reader, account_id: uuid.UUID) -> list[AliasRow]:
    """The account's aliases by key."""
    rows = await reader.rows(_LIST, {"account_id": account_id})
    return [AliasRow(*row) for row in rows]


async def _known(reader: Reader, account_id: uuid.UUID, key: str) -> bool:
    row = await reader.row(_KNOWN, {"account_id": account_id, "key": key})
    return bool(row and row["known"])


async def _lock(reader: Reader, account_id: uuid.UUID) -> None:
    await reader.rows(_LOCK, {"account": str(account_id)})


async def _pair(
    reader: Reader, account_id: uuid.UUID, spelling: str, target: str
) -> tuple[str, str]:
    """Both keys, once each is known to be a domain of the account and they differ."""
    alias_key, target_key = _key(spelling, "spelling"), _key(target, "target")
    if alias_key == target_key:
        raise AliasRefused(
            "SELF", "spelling and target are the same domain (their keys are equal)", "target"
        )
    if not await _known(reader, account_id, alias_key):
        raise AliasRefused(
            "UNKNOWN_SPELLING", "spelling is no flow category or session domain", "spelling"
        )
    if not await _known(reader, account_id, target_key):
        raise AliasRefused(
            "UNKNOWN_TARGET", "target is no flow category or session domain", "target"
        )
    return alias_key, target_key


async def add_alias(
    reader: Reader, account_id: uuid.UUID, user_id: uuid.UUID | None, spelling: str, target: str
) -> bool:
    """Map `spelling`'s key onto `target`'s, in the caller's transaction (bound to the
    account). False when that very alias exists already (nothing written)."""
    await _lock(reader, account_id)
    alias_key, target_key = await _pair(reader, account_id, spelling, target)
    params = {"account_id": account_id, "alias_key": alias_key, "target_key": target_key}
    state = await reader.row(_STATE, params)
    assert state is not None
    if state["aliased_to"] == target_key:
        return False
    if state["aliased_to"] is not None:
        raise AliasRefused(
            "EXISTS",
            "spelling is an alias of another domain already: remove that alias first",
            "spelling",
        )
    if state["target_aliased_to"] is not None:
        raise AliasRefused(
            "CHAIN", "target is itself an alias: map onto its domain instead", "target"
        )
    if state["is_target"]:
        raise AliasRefused(
            "CHAIN", "spelling is the target of other aliases: it cannot become one", "spelling"
        )
    if state["aliases"] >= MAX_ALIASES:
        raise AliasRefused(
            "LIMIT", f"the account has {MAX_ALIASES} aliases, the most it may have", "spelling"
        )
    await reader.rows(_INSERT, {**params, "spelling": spelling.strip(), "user_id": user_id})
    await reader.rows(_EVENT, {**params, "action": "added", "user_id": user_id})
    return True


async def remove_alias(
    reader: Reader, account_id: uuid.UUID, user_id: uuid.UUID | None, spelling: str
) -> str:
    """Remove `spelling`'s alias, in the caller's transaction; its former target's key."""
    await _lock(reader, account_id)
    alias_key = _key(spelling, "spelling")
    params = {"account_id": account_id, "alias_key": alias_key}
    removed = await reader.row(_DELETE, params)
    if removed is None:
        raise AliasRefused("NOT_FOUND", "spelling is no alias", "spelling")
    target_key: str = removed["target_key"]
    await reader.rows(
        _EVENT, {**params, "target_key": target_key, "action": "removed", "user_id": user_id}
    )
    return target_key


async def dismiss_suggestion(
    reader: Reader, account_id: uuid.UUID, user_id: uuid.UUID | None, spelling: str, target: str
) -> bool:
    """Never suggest this pair again, in the caller's transaction. False when it was
    dismissed already (nothing written)."""
    await _lock(reader, account_id)
    alias_key, target_key = await _pair(reader, account_id, spelling, target)
    params = {"account_id": account_id, "alias_key": alias_key, "target_key": target_key}
    row = await reader.row(_DISMISSED, params)
    if row is not None and row["dismissed"]:
        return False
    await reader.rows(_EVENT, {**params, "action": "dismissed", "user_id": user_id})
    return True


async def alias_of(reader: Reader, account_id: uuid.UUID, alias_key: str) -> AliasRow | None:
    """One alias by its key (None when there is none)."""
    for row in await list_aliases(reader, account_id):
        if row.key == alias_key:
            return row
    return None
