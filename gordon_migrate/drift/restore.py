"""Running the fix of drift-check (the TUI's Drift and Grants screens): plan, confirm, run.

The same statements ``drift-check --fix-sql`` prints, run in one transaction as the connected
role (the migration role), with one row in the recovery audit trail
(``public.gordon_migrate_audit``) in that same transaction. The plan is read-only; running it
first checks that the drift is still exactly what was shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gordon_migrate.core.db import connection, error_text, mapped
from gordon_migrate.core.dsn import Dsn, one_line
from gordon_migrate.core.errors import DriftError, ServerError
from gordon_migrate.drift.check import run_drift_check
from gordon_migrate.drift.model import DriftReport
from gordon_migrate.sql.split import split

AUDIT_ACTION = "drift fix"


@dataclass(frozen=True)
class FixPlan:
    database: str
    #: The statements that will run, in order (what ``--fix-sql`` prints between BEGIN and
    #: COMMIT).
    sql: str
    #: The differences these statements restore.
    restored: tuple[str, ...]
    #: The differences left to a person, each with what to do.
    manual: tuple[str, ...]
    #: Statements run after the transaction, one at a time (CREATE INDEX CONCURRENTLY...).
    after: tuple[str, ...] = ()
    #: The locks the statements take (``fix.lock_plan``), as lines.
    locks: tuple[str, ...] = ()

    @property
    def token(self) -> str:
        """What the operator types back: the database's name."""
        return self.database


def _plan_of(report: DriftReport) -> FixPlan | None:
    restored: list[str] = []
    statements: list[str] = []
    manual: list[str] = []
    from gordon_migrate.drift import fix

    items = [
        (d.object, d.kind, fix.Fix(d.fix, d.fix_note)) for c in report.checks for d in c.differences
    ]
    for obj, kind, found in sorted(items, key=fix.order):
        if found.sql:
            restored.append(f"{kind} {obj}")
        if found.note:
            manual.append(f"{kind} {obj}: {found.note}")
    statements, after = fix.sections(items)
    if not statements and not after:
        return None
    return FixPlan(
        report.database,
        "\n".join(statements),
        tuple(restored),
        tuple(manual),
        tuple(after),
        tuple(fix.lock_plan(items)),
    )


def plan_fix(dsn: Dsn, fixtures_dir: Path | None = None) -> FixPlan | None:
    """What would be run (read-only); ``None`` when nothing can be restored here."""
    return _plan_of(run_drift_check(dsn, fixtures_dir, with_fixes=True))


def describe_plan(plan: FixPlan, dsn: Dsn) -> str:
    count = len(plan.restored)
    lines = [
        f"Restore {count} difference{'s' * (count != 1)} of database {plan.database} "
        f"({dsn.redacted}) to the pinned fixtures, in one transaction, audited. Exactly this runs:",
        "",
        *plan.locks,
        "",
        plan.sql,
    ]
    if plan.after:
        lines += ["", "Then, after the transaction, each on its own:", "", *plan.after]
    if plan.manual:
        lines += ["", "Left to you (not restorable without losing data, or needs the migration):"]
        lines += [f"  {item}" for item in plan.manual]
    return "\n".join(lines)


def run_fix(
    dsn: Dsn, plan: FixPlan, *, reason: str | None = None, fixtures_dir: Path | None = None
) -> DriftReport:
    """Run ``plan`` if the drift is still what it was planned from; the report afterwards."""
    from gordon_migrate.core import audit

    current = plan_fix(dsn, fixtures_dir)
    if current is None or (current.sql, current.after) != (plan.sql, plan.after):
        raise DriftError(
            f"the drift of database {plan.database} changed since the fix was shown: "
            "look at it again before fixing"
        )
    with connection(
        dsn,
        purpose="drift fix",
        doing="restoring the drift",
        failed=lambda exc: DriftError(
            f"restoring the drift of database {plan.database} failed: SQLSTATE "
            f"{exc.sqlstate or '?'}: {error_text(dsn, exc)}; its transaction was "
            "rolled back, nothing was changed"
        ),
    ) as conn:
        audit.ensure_table(conn)
        with conn.transaction():
            if plan.sql:
                conn.execute(plan.sql.encode())
            audit.record(
                conn,
                AUDIT_ACTION,
                reason=reason,
                before={
                    "differences": list(plan.restored),
                    "sql": plan.sql,
                    "after": list(plan.after),
                },
            )
        # CREATE INDEX CONCURRENTLY and its kin: outside any transaction, one by one.
        for text in plan.after:
            for statement in split(text):
                try:
                    with mapped():
                        conn.execute(statement.text.encode())
                except ServerError as exc:
                    if exc.lost:
                        raise
                    raise DriftError(
                        f"restoring the drift of database {plan.database}: its transaction was "
                        f"committed (audited), then {one_line(statement.text)[:120]!r} failed: "
                        f"SQLSTATE {exc.sqlstate or '?'}: {error_text(dsn, exc)}; run "
                        "drift-check again: it names what is left (an INVALID index left "
                        "behind is dropped first by the next fix)"
                    ) from None
    return run_drift_check(dsn, fixtures_dir)


def describe_outcome(plan: FixPlan, after: DriftReport) -> str:
    count = len(plan.restored)
    left = sum(len(c.differences) for c in after.checks)
    done = f"restored {count} difference{'s' * (count != 1)} of database {plan.database} (audited)"
    if after.ok:
        return f"{done}; drift-check is clean now"
    return f"{done}; {left} difference{'s' * (left != 1)} left for you to handle"
