"""The apply plan's pure parts (``gordon_migrate.apply.plan``) and its dry-run rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from gordon_migrate.apply import render
from gordon_migrate.apply.plan import ApplyPlan, pending_of, refusal_of
from gordon_migrate.apply.status import DatabaseStatus, MigrationStatus, State
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.dsn import parse
from gordon_migrate.core.errors import HistoryError, ServerStateError
from gordon_migrate.lint.model import LockPlan, LockStep, MigrationPlan, StatementPlan


def _migration(version: int, sql: str = "SELECT 1;\n") -> Migration:
    name = f"{version:04d}_m{version}.sql"
    return Migration(version=version, description=f"m{version}", path=Path(name), data=sql.encode())


def _status(*states: State, in_recovery: bool = False) -> DatabaseStatus:
    return DatabaseStatus(
        database="gordon",
        user="gordon_owner",
        server_version="18.1",
        in_recovery=in_recovery,
        history_exists=True,
        migrations=[
            MigrationStatus(
                version=i,
                description=f"m{i}",
                state=state,
                filename=f"{i:04d}_m{i}.sql",
            )
            for i, state in enumerate(states, start=1)
        ],
    )


def _plan(status: DatabaseStatus, locks: LockPlan | None = None) -> ApplyPlan:
    bundle = [_migration(m.version) for m in status.migrations]
    return ApplyPlan(
        status=status,
        migrations=pending_of(status, bundle),
        locks=locks or LockPlan(live=True),
        lock_key=1,
        lock_holder=None,
        refusal=refusal_of(status),
    )


def test_a_consistent_history_is_not_refused() -> None:
    assert refusal_of(_status("applied", "pending")) is None


def test_a_dirty_history_is_refused_as_apply_refuses_it() -> None:
    refused = refusal_of(_status("applied", "failed", "pending"))
    assert isinstance(refused, HistoryError)
    assert refused.version == 2
    assert refused.failure_mode == "FM-13"
    plan = _plan(_status("applied", "failed", "pending"))
    with pytest.raises(HistoryError, match=r"migration 0002 .* is dirty"):
        plan.refuse()


def test_a_standby_is_refused_before_its_history_is_judged() -> None:
    refused = refusal_of(_status("checksum_mismatch", in_recovery=True))
    assert isinstance(refused, ServerStateError)
    assert refused.failure_mode == "FM-11"


def test_pending_migrations_are_the_bundles_files_in_version_order() -> None:
    status = _status("applied", "pending", "applied", "pending")
    bundle = [_migration(v) for v in (4, 3, 2, 1)]
    assert [m.version for m in pending_of(status, bundle)] == [2, 4]


def test_the_dry_run_result_lists_the_pending_migrations() -> None:
    result = _plan(_status("applied", "applied", "pending")).as_result()
    assert result.dry_run
    assert (result.database, result.server_version) == ("gordon", "18.1")
    assert result.already_applied == 2
    assert [m.version for m in result.planned] == [3]
    assert result.applied == []


def test_a_dry_run_with_nothing_pending_shows_no_lock_plan() -> None:
    plan = _plan(_status("applied"))
    assert render.dry_run_json(plan) == {}
    assert render.dry_run_text(plan) == ""
    text = render.apply_text(plan.as_result(), parse("postgresql://u:secret@h/gordon"))
    assert text.endswith("up to date: 1 applied, nothing pending")
    assert "secret" not in text


def test_a_dry_run_with_pending_migrations_shows_their_lock_plan() -> None:
    step = LockStep("public.t", "AccessExclusiveLock", "ALTER TABLE", "none", "everything")
    statement = StatementPlan(line=1, sql="ALTER TABLE t ...", steps=[step])
    migration = MigrationPlan(file="0003_m3.sql", no_transaction=False, statements=[statement])
    plan = _plan(_status("applied", "pending"), LockPlan(migrations=[migration], live=True))
    assert render.dry_run_json(plan)["lock_plan"]["live"] is True
    assert render.dry_run_text(plan).splitlines()[1:] == [
        "lock plan (statement: mode on relation, work, blocks):",
        "  0003_m3.sql",
        "    line 1: AccessExclusiveLock on public.t: ALTER TABLE, none, blocks everything",
        "no session holds a conflicting lock now",
    ]
