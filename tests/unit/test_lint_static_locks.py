"""The static lock plan's use of the bundle's catalog (no server): a foreign key's other table,
an identity's sequence, the views a CASCADE drops, what a DO block names. The server's word on
the same forms is ``tests/test_lock_truth.py``."""

from __future__ import annotations

from pathlib import Path

from gordon_migrate import lint
from gordon_migrate.core import bundle

BASE = """\
CREATE SCHEMA app;
CREATE TABLE app.parent (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE TABLE app.child (
    id bigint PRIMARY KEY,
    parent_id bigint REFERENCES app.parent (id),
    note text
);
CREATE TABLE app.grandchild (child_id bigint CONSTRAINT grandchild_child_fk REFERENCES app.child);
CREATE VIEW app.child_notes AS SELECT id, note FROM app.child;
"""


def plan_of(tmp_path: Path, change: str) -> dict[str, str]:
    """relation -> strongest planned mode of ``change``, run after ``BASE``."""
    (tmp_path / "0001_base.sql").write_text(BASE, encoding="utf-8")
    (tmp_path / "0002_change.sql").write_text(change, encoding="utf-8")
    migrations = bundle.load(tmp_path)
    plan = lint.lock_plan(migrations[1:], migrations, None)
    out: dict[str, str] = {}
    for statement in plan.migrations[0].statements:
        for step in statement.steps:
            out[step.relation] = max(out.get(step.relation, step.mode), step.mode, key=_rank)
    return out


def _rank(mode: str) -> int:
    from gordon_migrate.lint import locks

    return locks.MODES.index(mode)


def test_dropping_a_foreign_key_locks_its_other_table(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "ALTER TABLE app.child DROP CONSTRAINT child_parent_id_fkey;\n")
    assert plan == {"app.child": "AccessExclusiveLock", "app.parent": "AccessExclusiveLock"}


def test_a_type_change_of_a_referencing_column_locks_the_referenced_table(
    tmp_path: Path,
) -> None:
    plan = plan_of(tmp_path, "ALTER TABLE app.child ALTER COLUMN parent_id TYPE numeric;\n")
    assert plan["app.parent"] == "AccessExclusiveLock"
    assert "app.grandchild" not in plan, "its key uses child.id, not parent_id"


def test_drop_table_cascade_locks_neighbours_sequences_and_dependent_views(
    tmp_path: Path,
) -> None:
    plan = plan_of(tmp_path, "DROP TABLE app.child CASCADE;\n")
    assert set(plan) == {"app.child", "app.parent", "app.grandchild", "app.child_notes"}
    plan = plan_of(tmp_path, "DROP TABLE app.parent CASCADE;\n")
    assert set(plan) == {"app.parent", "app.child", "app.parent_id_seq"}


def test_truncate_cascade_locks_every_table_that_reaches_it(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "TRUNCATE app.parent CASCADE;\n")
    assert set(plan) == {"app.parent", "app.child", "app.grandchild"}
    assert set(plan_of(tmp_path, "TRUNCATE app.parent;\n")) == {"app.parent"}


def test_reindex_is_planned_access_exclusive_through_the_indexes(tmp_path: Path) -> None:
    assert plan_of(tmp_path, "REINDEX TABLE app.child;\n") == {"app.child": "AccessExclusiveLock"}


def test_a_do_block_is_planned_access_exclusive_on_what_it_names(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path, "DO $$ BEGIN EXECUTE 'ALTER TABLE app.child ADD COLUMN x int'; END $$;\n"
    )
    assert plan == {"app.child": "AccessExclusiveLock"}


def test_forms_planned_weaker_than_access_exclusive(tmp_path: Path) -> None:
    change = (
        "ALTER TABLE app.child ALTER COLUMN note SET (n_distinct = 10);\n"
        "ALTER TABLE app.child CLUSTER ON child_pkey;\n"
    )
    assert plan_of(tmp_path, change) == {"app.child": "ShareUpdateExclusiveLock"}


def test_a_renamed_table_keeps_its_foreign_keys(tmp_path: Path) -> None:
    change = "ALTER TABLE app.parent RENAME TO mother;\nTRUNCATE app.mother CASCADE;\n"
    assert set(plan_of(tmp_path, change)) == {
        "app.parent",
        "app.mother",
        "app.child",
        "app.grandchild",
    }
