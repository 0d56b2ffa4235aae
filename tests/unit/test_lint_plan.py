"""The relations a lock plan locks (``gordon_migrate.lint.planned_relations``)."""

from __future__ import annotations

from gordon_migrate.lint import planned_relations
from gordon_migrate.lint.model import LockStep, MigrationPlan, StatementPlan


def one_migration(*steps: LockStep) -> list[MigrationPlan]:
    return [
        MigrationPlan(
            file="0003_m3.sql",
            no_transaction=False,
            statements=[
                StatementPlan(line=i, sql="ALTER TABLE t ...", steps=[step])
                for i, step in enumerate(steps, start=1)
            ],
        )
    ]


def test_planned_relations_leave_out_what_the_migrations_create() -> None:
    migrations = one_migration(
        LockStep("public.t", "AccessExclusiveLock", "ALTER TABLE", "none", "everything"),
        LockStep("public.t", "ShareLock", "CREATE INDEX", "scan", "writes"),
        LockStep("public.new", "AccessExclusiveLock", "CREATE TABLE", "none", "", True),
    )
    assert planned_relations(migrations) == {"public.t": {"AccessExclusiveLock", "ShareLock"}}
