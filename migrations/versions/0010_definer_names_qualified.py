"""The analytics' functions name every table, sequence and function with its schema, and
the ones that run as their owner look names up in pg_catalog only.

Revision ID: 0010_definer_names_qualified
Revises: 0009_triggers_run_as_owner
Create Date: 2024-01-10 00:00:00

Since 0009 the rollup and data-version trigger functions run with their owner's rights,
with `search_path = pg_catalog, public, pg_temp` and bare names in their bodies. A role
that may create objects in `public` could then place a function there that wins name
resolution (`public.nextval(text)` beats `pg_catalog.nextval(regclass)` for the literal
`'data_version_seq'`) and have it run as the owner on its next write to a session.

`0010_definer_names_qualified.sql` re-creates the 19 trigger functions, the two helpers
they call and `flowpilot_data_state` with every analytics name written `public.x`; the
trigger functions (SECURITY DEFINER) and `rollups_rebuild_account` get
`search_path = pg_catalog, pg_temp`. `rollup_zone` and `flowpilot_data_state` run with
their caller's rights and keep no SET clause: they are called per statement on the
write path and per cache hit, their few names are all qualified, and whatever else
their caller's search_path holds can run only with the caller's own rights.

CREATE OR REPLACE FUNCTION takes no lock on the tables and keeps the triggers, owners
and grants. The downgrade puts back the statements of 0004, 0008 and 0009.
"""

from collections.abc import Sequence
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType

from alembic import op

from migrations.sql_script import execute_file, statements

revision: str = "0010_definer_names_qualified"
down_revision: str | None = "0009_triggers_run_as_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HERE = Path(__file__).resolve().parent
_SQL = Path(__file__).with_suffix(".sql")


def _revision(name: str) -> ModuleType:
    """An earlier revision's module, to re-run its statements (names start with a digit)."""
    spec = spec_from_file_location(f"_flowpilot_{name}", _HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    execute_file(_SQL)


def downgrade() -> None:
    prefix = "CREATE FUNCTION "
    for statement in statements((_HERE / "0004_rollups.sql").read_text(encoding="utf-8")):
        if statement.startswith(prefix):
            op.execute("CREATE OR REPLACE FUNCTION " + statement.removeprefix(prefix))
    versions = _revision("0008_data_versions")
    op.execute(versions._STATE_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    for table, column in versions._WATCHED.items():
        for operation in versions._OPERATIONS:
            op.execute(
                f"CREATE OR REPLACE FUNCTION {versions._name(table, operation)}() "
                "RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                f"BEGIN\n{versions._bump(operation, column)};\nRETURN NULL;\nEND\n$fn$"
            )
    owner = _revision("0009_triggers_run_as_owner")
    op.execute(
        owner._EACH_TRIGGER_FUNCTION.format(
            change="SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp"
        )
    )
