"""The lock each DDL statement takes, and the statements the product's tables never get.

`migrate --sql` prints this beside every statement so a DBA can schedule the upgrade;
the migration tests run every revision's SQL through `violations`. The modes and what
they block are PostgreSQL's ("Explicit Locking" and each command's page): ACCESS
EXCLUSIVE blocks even reads, SHARE ROW EXCLUSIVE and SHARE block writes, SHARE UPDATE
EXCLUSIVE (CONCURRENTLY, VALIDATE) blocks only other DDL.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from persistence.operations.product_schema import PRODUCT_TABLES as _CHECKED_TABLES

# The tables the product reads and writes (psa_activity_log: the analytics create it, the
# product's PSA integration writes it).
PRODUCT_TABLES = frozenset((*_CHECKED_TABLES, "psa_activity_log"))

_NAME = r'(?:public\.)?"?(\w+)"?'
_FLAGS = re.IGNORECASE | re.DOTALL


@dataclass(frozen=True)
class Lock:
    mode: str
    table: str
    note: str

    def comment(self) -> str:
        return f"-- lock: {self.mode} on public.{self.table} ({self.note})"


_BRIEF = "brief"
_NO_WRITES = "brief; writes wait"
_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, _FLAGS), mode, note)
    for pattern, mode, note in (
        (
            rf"CREATE (?:UNIQUE )?INDEX CONCURRENTLY (?:IF NOT EXISTS )?\S+ ON (?:ONLY )?{_NAME}",
            "SHARE UPDATE EXCLUSIVE",
            "for the build; reads and writes go on",
        ),
        (
            rf"CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?\S+ ON (?:ONLY )?{_NAME}",
            "SHARE",
            "for the build; writes wait",
        ),
        (rf"CREATE (?:OR REPLACE )?TRIGGER \w+ .*? ON {_NAME}", "SHARE ROW EXCLUSIVE", _NO_WRITES),
        (rf"DROP TRIGGER (?:IF EXISTS )?\w+ ON {_NAME}", "ACCESS EXCLUSIVE", _BRIEF),
        (
            rf"(?:CREATE|ALTER|DROP) POLICY (?:IF EXISTS )?\w+ ON {_NAME}",
            "ACCESS EXCLUSIVE",
            _BRIEF,
        ),
        (
            rf"ALTER TABLE (?:IF EXISTS )?(?:ONLY )?{_NAME} VALIDATE CONSTRAINT",
            "SHARE UPDATE EXCLUSIVE",
            "for the scan; reads and writes go on",
        ),
        (
            rf"ALTER TABLE (?:IF EXISTS )?(?:ONLY )?{_NAME} (?:ENABLE|DISABLE) TRIGGER",
            "SHARE ROW EXCLUSIVE",
            _NO_WRITES,
        ),
        (rf"(?:INSERT INTO|UPDATE|DELETE FROM) {_NAME}", "ROW EXCLUSIVE", "the rows it writes"),
    )
)
_ALTER = re.compile(rf"ALTER TABLE (?:IF EXISTS )?(?:ONLY )?{_NAME} (.*)", _FLAGS)
_REFERENCES = re.compile(rf"REFERENCES {_NAME}", _FLAGS)
_CREATE_TABLE = re.compile(r"CREATE TABLE", _FLAGS)
_LOCK_TABLE = re.compile(r"LOCK TABLE (.+?) IN (.+?) MODE", _FLAGS)
_DROP_INDEX = re.compile(rf"DROP INDEX (CONCURRENTLY )?(?:IF EXISTS )?{_NAME}", _FLAGS)
_RENAME_INDEX = re.compile(rf"ALTER INDEX (?:IF EXISTS )?{_NAME} RENAME TO", _FLAGS)
_QUIET = re.compile(r"(?:BEGIN|COMMIT|ROLLBACK|SET|RESET)\b", _FLAGS)
_NO_TABLE = re.compile(
    r"(?:CREATE (?:OR REPLACE )?FUNCTION|ALTER FUNCTION|DROP FUNCTION|CREATE SEQUENCE|"
    r"DROP SEQUENCE|GRANT|REVOKE|COMMENT)\b",
    _FLAGS,
)

# What makes an ALTER TABLE rewrite the table, or scan it under its exclusive lock.
_REWRITES = re.compile(
    r"GENERATED ALWAYS AS .* STORED|\bTYPE\b|SET (?:UN)?LOGGED|SET ACCESS METHOD|"
    r"SET TABLESPACE|\bSERIAL\b|\bBIGSERIAL\b|DEFAULT .*\b(?:random|gen_random_uuid|"
    r"uuid_generate_\w+|clock_timestamp|nextval|timeofday)\(",
    _FLAGS,
)
_SCANS = re.compile(
    r"SET NOT NULL|ADD (?:CONSTRAINT \w+ )?(?:CHECK|FOREIGN KEY|PRIMARY KEY|UNIQUE|EXCLUDE)",
    _FLAGS,
)


def _alter_note(action: str) -> str:
    if _REWRITES.search(action):
        return "rewrites the table"
    if _SCANS.search(action) and not re.search(r"NOT VALID|USING INDEX", action, _FLAGS):
        return "scans the table"
    return _BRIEF


def locks(statement: str) -> list[Lock] | None:
    """The table locks `statement` takes; None for a statement that takes none worth
    naming (transaction control, settings, functions, grants, new sequences)."""
    sql = " ".join(statement.split())
    if _QUIET.match(sql) or _NO_TABLE.match(sql):
        return None
    for pattern, mode, note in _RULES:
        found = pattern.match(sql)
        if found:
            return [Lock(mode, found[1], note)]
    if found := _LOCK_TABLE.match(sql):
        tables = [re.sub(r'^(?:public\.)?"?|"$', "", t.strip()) for t in found[1].split(",")]
        return [Lock(found[2].upper(), table, "until the transaction ends") for table in tables]
    if found := _DROP_INDEX.match(sql):
        concurrently = bool(found[1])
        mode = "SHARE UPDATE EXCLUSIVE" if concurrently else "ACCESS EXCLUSIVE"
        return [Lock(mode, f"{found[2]}'s table", _BRIEF)]
    if found := _RENAME_INDEX.match(sql):
        # PostgreSQL 12 and later rename an index under SHARE UPDATE EXCLUSIVE on it.
        return [Lock("SHARE UPDATE EXCLUSIVE", f"{found[1]}'s table", _BRIEF)]
    if found := _ALTER.match(sql):
        table, action = found[1], found[2]
        referenced = [
            Lock("SHARE ROW EXCLUSIVE", r, _NO_WRITES) for r in _REFERENCES.findall(action)
        ]
        if referenced and "FOREIGN KEY" in action.upper() and "ADD" in action.upper():
            return [Lock("SHARE ROW EXCLUSIVE", table, _NO_WRITES), *referenced]
        return [Lock("ACCESS EXCLUSIVE", table, _alter_note(action))]
    if _CREATE_TABLE.match(sql):
        return [Lock("SHARE ROW EXCLUSIVE", r, _NO_WRITES) for r in _REFERENCES.findall(sql)]
    return []


def comment(statement: str) -> str | None:
    """The `-- lock:` lines to print above `statement`, or None."""
    found = locks(statement)
    if found is None:
        return None
    if not found:
        sql = " ".join(statement.split()).upper()
        if sql.startswith("DO "):
            return "-- lock: those its statements take (see the block)"
        return "-- lock: none on an existing table"
    return "\n".join(lock.comment() for lock in found)


def violations(statement: str) -> list[str]:
    """Why `statement` must not run on a live product table (empty when it may)."""
    sql = " ".join(statement.split())
    found: list[str] = []
    for lock in locks(sql) or []:
        if lock.table not in PRODUCT_TABLES:
            continue
        if lock.mode == "SHARE" and "INDEX" in sql.upper()[:30]:
            found.append(f"index on {lock.table} built without CONCURRENTLY: {sql[:100]}")
        elif lock.note in ("rewrites the table", "scans the table"):
            found.append(f"ALTER that {lock.note} {lock.table}: {sql[:100]}")
    rewrite = re.match(r"(?:VACUUM FULL|CLUSTER|REINDEX (?!.*CONCURRENTLY))", sql, _FLAGS)
    if rewrite and any(table in sql for table in PRODUCT_TABLES):
        found.append(f"rewrite of a product table: {sql[:100]}")
    return found


class Statements(io.StringIO):
    """An output buffer for Alembic's offline mode that keeps each statement apart."""

    def __init__(self) -> None:
        super().__init__()
        self.units: list[str] = []

    def write(self, text: str) -> int:
        if text.strip():
            self.units.append(text.strip())
        return len(text)


def _without_empty_transactions(units: list[str]) -> list[str]:
    kept: list[str] = []
    for unit in units:
        if unit.upper() == "COMMIT;":
            between = 0
            while between < len(kept) and kept[-1 - between].startswith("--"):
                between += 1
            if between < len(kept) and kept[-1 - between].upper() == "BEGIN;":
                del kept[-1 - between]
                continue
        kept.append(unit)
    return kept


def review(units: list[str]) -> str:
    """The script with a `-- lock:` comment above each statement that locks a table."""
    lines: list[str] = []
    for unit in _without_empty_transactions(units):
        note = None if unit.startswith("--") else comment(unit)
        lines.append(f"{note}\n{unit}" if note else unit)
    return "\n\n".join(lines) + "\n"
