"""``repair``: the one history fix the runbook prescribes (FM-13, a dirty migration).

After the operator finished (``done``) or undid (``undone``) by hand the statements of a
no-transaction migration that stopped part-way (or, for the dirty row of a transactional
migration, which this tool never writes, checked that all or none of its changes are in), its
dirty history row is marked ``success = true`` or removed. One named version per call, only
when its row is dirty, under the migration advisory lock, in one transaction with an audit
row. No schema object is touched. ``plan_repair`` reads and validates (read-only) and gives
the exact statement to show before confirmation; ``run_repair`` re-checks under the lock that
the row is still what was shown, then runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from psycopg import sql

from gordon_migrate.apply import dirty, history, locks
from gordon_migrate.apply.interrupts import Interrupted
from gordon_migrate.apply.refusals import check_server
from gordon_migrate.apply.state import CancelToken
from gordon_migrate.apply.status import MigrationStatus, read_status
from gordon_migrate.core import audit
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, connection, error_text, mapped
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.errors import RecoveryError, ServerError
from gordon_migrate.core.sessions import Session
from gordon_migrate.recovery import refused

if TYPE_CHECKING:
    from gordon_migrate.apply.leftovers import Leftovers

Action = Literal["done", "undone"]
DEFAULT_LOCK_WAIT_S = 30.0


row_json = history.row_json


@dataclass(frozen=True)
class RepairPlan:
    """What ``run_repair`` will do, for the operator to confirm."""

    database: str
    version: int
    action: Action
    label: str
    before: dict[str, Any]
    after: dict[str, Any] | None
    #: The exact statement that changes the history (run with an audit insert).
    statement: str
    lock_key: int
    #: Whether the bundled migration runs outside a transaction (None: not in the bundle).
    no_transaction: bool | None = None
    #: Statements of the migration whose effect the catalogs cannot confirm (not checked).
    unchecked: tuple[str, ...] = ()

    @property
    def cause(self) -> str:
        """Why the row is dirty (``dirty.cause``), as far as the bundle tells."""
        if self.no_transaction is None:
            return (
                "it is not in this bundle, so whether it ran in a transaction is unknown: "
                "check what of it took effect"
            )
        return dirty.cause(self.no_transaction)

    @property
    def meaning(self) -> str:
        partial = self.no_transaction is not False
        if self.action == "done":
            did = (
                "you finished its statements by hand"
                if partial
                else "you checked that all of its changes are in the database"
            )
            return f"{did}: the row is marked success = true and apply continues after it"
        did = (
            "you undid what took effect of it"
            if partial
            else "you checked that none of its changes are in the database (or undid them)"
        )
        return (
            f"{did}: the row is removed and the next apply runs the migration again from its "
            "first statement"
        )


@dataclass(frozen=True)
class RepairOutcome:
    plan: RepairPlan
    lock_waited_s: float


def _statement(action: Action, version: int) -> sql.Composed:
    return history.fix_dirty(version, done=action == "done")


def _read_row(conn: Conn, version: int, *, for_update: bool = False) -> history.AppliedMigration:
    row = history.read_row(conn, version, for_update=for_update)
    if row is None:
        raise refused(
            f"migration {version:04d} has no history row: there is nothing to repair (repair "
            "only changes a dirty row; `gordon-migrate status` lists them)"
        )
    return row


def dirty_migrations(
    dsn: Dsn, bundle: Sequence[Migration], *, purpose: str, doing: str
) -> list[MigrationStatus]:
    """The migrations whose history row is dirty (what repair is for), read-only."""
    with connection(dsn, purpose=purpose, doing=doing, read_only=True) as conn:
        status = read_status(conn, bundle)
    return [m for m in status.migrations if m.state == "failed"]


def plan_repair(dsn: Dsn, bundle: Sequence[Migration], version: int, action: Action) -> RepairPlan:
    """Validate that ``version``'s row is dirty and may be marked ``action``; read-only."""
    with connection(
        dsn,
        purpose="repair (plan)",
        doing="reading the history",
        read_only=True,
        failed=lambda exc: RecoveryError(
            f"cannot read the history of {dsn.redacted}: {error_text(dsn, exc)}; "
            "repair needs the migration-privileged role"
        ),
    ) as conn:
        status = read_status(conn, bundle)
        check_server(status)
        if not status.history_exists:
            raise refused(
                f"database {status.database} has no history table: there is nothing to repair"
            )
        row = _read_row(conn, version)
        statement = _statement(action, version).as_string(conn)
        migration = next((m for m in bundle if m.version == version), None)
        found = None
        if (
            not row.success
            and migration is not None
            and migration.no_transaction
            and migration.checksum == row.checksum
        ):
            from gordon_migrate.apply import leftovers

            found = leftovers.inspect(conn, migration)
    label = migration.label if migration else f"{version:04d} ({row.description!r}, not in bundle)"
    if row.success:
        raise refused(
            f"migration {label} is not dirty (success = true): repair only changes a dirty row "
            "(success = false)"
        )
    if migration is None:
        raise refused(
            f"migration {label} is not in this bundle (its file is missing), so what it built "
            "cannot be checked: repair it with the image that ran it"
        )
    if migration.checksum != row.checksum:
        raise refused(
            f"the bundled {migration.filename} is not the file that ran (its SHA-384 differs "
            "from the history row's: it was edited), so what it built cannot be checked "
            "against it: repair it with the image that ran it"
        )
    if found is not None:
        _verify(found, action, label)
    before = row_json(row)
    after = {**before, "success": True} if action == "done" else None
    return RepairPlan(
        database=status.database,
        version=version,
        action=action,
        label=label,
        before=before,
        after=after,
        statement=statement + ";",
        lock_key=locks.lock_key(status.database),
        no_transaction=migration.no_transaction if migration else None,
        unchecked=found.unchecked() if found is not None else (),
    )


def _verify(found: Leftovers, action: Action, label: str) -> None:
    """What the operator says must be what the catalogs show (an INVALID index is there)."""
    if action == "done":
        missing = found.missing()
        if missing:
            drops = " ".join(found.drop_commands())
            raise refused(
                f"migration {label} is not finished: {'; '.join(missing)}. Finish it first "
                + (f"(`{drops}`, then run its statement again) " if drops else "")
                + "or let a plain `gordon-migrate apply` resume it, which does exactly that"
            )
        return
    present = found.present()
    if present:
        drops = " ".join(
            f"DROP INDEX CONCURRENTLY IF EXISTS {s.index};"
            for s in found.steps
            if s.kind == "create_index" and s.state in ("valid", "invalid")
        )
        extra = " ".join(c for c in found.drop_commands() if c not in drops)
        raise refused(
            f"migration {label} is not undone: still there: {'; '.join(present)}. Drop it "
            f"first: `{' '.join(x for x in (drops, extra) if x)}`, then repair again"
        )


def run_repair(
    dsn: Dsn,
    plan: RepairPlan,
    *,
    reason: str | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    cancel: CancelToken | None = None,
    on_wait: Callable[[Session | None], None] | None = None,
) -> RepairOutcome:
    """Carry out ``plan`` under the migration lock, if the row is still exactly as planned.

    ``on_wait`` is told who holds the migration lock when it is not free at once; ``cancel``
    (from another thread: the TUI) ends the wait for it, before anything is changed.
    """
    token = cancel or CancelToken()
    with connection(
        dsn,
        purpose="repair",
        doing=f"repairing migration {plan.label}",
        extra_s=lock_wait_s,
        failed=lambda exc: RecoveryError(
            f"repair of migration {plan.label} failed: SQLSTATE {exc.sqlstate or '?'}: "
            f"{error_text(dsn, exc)}; its transaction was rolled back, nothing was changed"
        ),
    ) as conn:
        return _run(conn, plan, reason, lock_wait_s, token, on_wait)


def _run(
    conn: Conn,
    plan: RepairPlan,
    reason: str | None,
    lock_wait_s: float,
    cancel: CancelToken,
    on_wait: Callable[[Session | None], None] | None,
) -> RepairOutcome:
    try:
        waited = locks.acquire(
            conn, plan.lock_key, lock_wait_s, sleep=cancel.sleep, on_wait=on_wait
        )
        cancel.check()
    except Interrupted:
        raise refused(
            f"repair of migration {plan.label} cancelled while waiting for the migration lock "
            f"(advisory lock {plan.lock_key})"
        ) from None
    except locks.LockTimeout as exc:
        raise refused(
            f"{exc.describe(plan.database, plan.lock_key)}: a runner is at work (wait), or a "
            "stuck one holds it (`gordon-migrate unlock`, docs/spof-runbook.md FM-16)"
        ) from None
    try:
        audit.ensure_table(conn)
        with conn.transaction():
            current = row_json(_read_row(conn, plan.version, for_update=True))
            if current != plan.before:
                raise refused(
                    f"the history row of migration {plan.label} changed since it was shown "
                    f"(now success = {current['success']}): run repair again to see it"
                )
            done = conn.execute(_statement(plan.action, plan.version))
            if done.rowcount != 1:
                raise refused(f"the history row of migration {plan.label} was not changed")
            audit.record(
                conn,
                f"repair {plan.action}",
                version=plan.version,
                reason=reason,
                before=plan.before,
                after=plan.after,
            )
    finally:
        _unlock(conn, plan.lock_key)
    return RepairOutcome(plan=plan, lock_waited_s=waited)


def _unlock(conn: Conn, key: int) -> None:
    """Release the session lock (closing the connection would too)."""
    try:
        with mapped():
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    except ServerError:
        conn.close()


def describe_plan(plan: RepairPlan, dsn: Dsn) -> str:
    """What will run, for the confirmation screen or prompt."""
    row = plan.before
    return "\n".join(
        [
            f"database {plan.database} ({dsn.redacted})",
            f"history row of migration {plan.label}:",
            f"  success = {str(row['success']).lower()}, installed_on {row['installed_on']}, "
            f"execution_time {row['execution_time']}, checksum {row['checksum'][:16]}...",
            f"why it is dirty: {plan.cause}",
            f"--{plan.action}: {plan.meaning}",
            f"will run under the migration lock (advisory lock {plan.lock_key}), in one "
            "transaction:",
            f"  {plan.statement}",
            f"  plus one audit row in {audit.AUDIT_TABLE} (who, when, the row before and after)",
            "no schema object is touched",
            *(f"not checked (the catalogs cannot confirm it): {u}" for u in plan.unchecked),
        ]
    )


def describe_outcome(outcome: RepairOutcome) -> str:
    plan = outcome.plan
    what = "marked done (success = true)" if plan.action == "done" else "removed"
    return (
        f"migration {plan.label}: history row {what}; recorded in {audit.AUDIT_TABLE}. "
        "Next: run apply (the deploy)"
    )


def render_json(dsn: Dsn, plan: RepairPlan, outcome: RepairOutcome | None) -> dict[str, Any]:
    """The plan and, once carried out, the outcome: ``repair --format json``."""
    return {
        "ok": True,
        "command": "repair",
        "target": dsn.redacted,
        "database": plan.database,
        "version": plan.version,
        "action": plan.action,
        "why_dirty": plan.cause,
        "statement": plan.statement,
        "lock_key": plan.lock_key,
        "before": plan.before,
        "after": plan.after,
        "repaired": outcome is not None,
        "lock_waited_s": None if outcome is None else round(outcome.lock_waited_s, 3),
        "audit_table": audit.AUDIT_TABLE,
    }


@dataclass(frozen=True)
class DropPlan:
    """The indexes a repair needs gone first, as its refusal named them: dropped with
    ``DROP INDEX CONCURRENTLY`` (blocking no reader or writer), each audited."""

    database: str
    version: int
    label: str
    indexes: tuple[str, ...]

    @property
    def statements(self) -> tuple[str, ...]:
        return tuple(f"DROP INDEX CONCURRENTLY IF EXISTS {name};" for name in self.indexes)


def plan_drop(
    dsn: Dsn, bundle: Sequence[Migration], version: int, action: Action
) -> DropPlan | None:
    """What ``repair VERSION`` (``action``) wants dropped first: for ``done``, the INVALID
    indexes the migration left; for ``undone``, every index it built, valid or not. Only
    indexes the migration's own statements name (``leftovers``); None when there are none."""
    from gordon_migrate.apply import leftovers

    migration = next((m for m in bundle if m.version == version), None)
    if migration is None or not migration.no_transaction:
        return None
    with connection(
        dsn, purpose="repair (plan)", doing="reading the indexes", read_only=True
    ) as conn:
        status = read_status(conn, bundle)
        found = leftovers.inspect(conn, migration)
    if action == "done":
        names = found.drops
    else:
        built = [
            str(s.index)
            for s in found.steps
            if s.kind == "create_index" and s.state in ("valid", "invalid") and s.problem is None
        ]
        names = tuple(dict.fromkeys([*built, *found.drops]))
    if not names:
        return None
    return DropPlan(database=status.database, version=version, label=migration.label, indexes=names)


def describe_drop(plan: DropPlan, dsn: Dsn) -> str:
    return "\n".join(
        [
            f"database {plan.database} ({dsn.redacted})",
            f"indexes of migration {plan.label} that repair needs gone first:",
            *(f"  {s}" for s in plan.statements),
            "each runs outside a transaction and blocks no reader or writer (it waits for "
            "the transactions using its table); each is recorded in "
            f"{audit.AUDIT_TABLE}; the history is not touched",
        ]
    )


def run_drop(dsn: Dsn, plan: DropPlan, *, reason: str | None = None) -> str:
    """Drop ``plan``'s indexes concurrently, one audit row each; the outcome line."""
    with connection(
        dsn,
        purpose="repair (drop index)",
        doing=f"dropping the indexes of migration {plan.label}",
        # Waiting for the transactions on the table is the point: statement_timeout bounds it.
        extra_s=DEFAULT_LOCK_WAIT_S,
        options={"lock_timeout": "0", "statement_timeout": "5min"},
    ) as conn:
        audit.ensure_table(conn)
        for name, statement in zip(plan.indexes, plan.statements, strict=True):
            conn.execute(statement)
            with conn.transaction():
                audit.record(
                    conn,
                    "drop index",
                    version=plan.version,
                    reason=reason,
                    before={"index": name},
                    after=None,
                )
    return (
        f"dropped {', '.join(plan.indexes)} (recorded in {audit.AUDIT_TABLE}); now repair "
        f"migration {plan.label}, or re-run apply"
    )
