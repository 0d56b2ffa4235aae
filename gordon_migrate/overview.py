"""A one-glance summary of a database: who and where, migration counts, lock holder, last apply;
and what would block the pending migrations now.

Read-only and built from the core's own pieces (``status.read_status``, ``history.read``,
``locks.holder``, ``lint.lock_plan``): the TUI's Overview and Migrations screens and its apply
confirmation render it, nothing recomputes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from gordon_migrate import history, locks
from gordon_migrate.bundle import Migration
from gordon_migrate.db import Conn, connection
from gordon_migrate.dsn import Dsn
from gordon_migrate.lint.model import LockPlan
from gordon_migrate.recovery.sessions import Session
from gordon_migrate.status import DatabaseStatus, MigrationStatus, read_status


@dataclass(frozen=True)
class MigrationRecord:
    """One row of the catalogue: its state, the bundled file (if any), its history row (if any)."""

    status: MigrationStatus
    migration: Migration | None
    applied: history.AppliedMigration | None

    @property
    def checksum_matches(self) -> bool | None:
        """Whether the history's SHA-384 equals the file's; None when there is none to compare."""
        if self.migration is None or self.applied is None:
            return None
        return self.applied.checksum == self.migration.checksum


@dataclass(frozen=True)
class Overview:
    """Everything the operator wants first, read in one short read-only session."""

    target: str
    """The DSN with its password redacted."""
    server: str
    """``host:port`` as connected (a Unix socket directory for a local socket)."""
    status: DatabaseStatus
    records: list[MigrationRecord]
    lock_key: int
    lock_holder: Session | None
    resume_notes: dict[int, str] = field(default_factory=dict)
    """Per dirty version: whether the next apply resumes it by itself, and how."""

    @property
    def applied(self) -> int:
        return self.status.count("applied")

    @property
    def pending(self) -> int:
        return self.status.count("pending")

    @property
    def failed(self) -> int:
        return self.status.count("failed")

    @property
    def inconsistent(self) -> int:
        """Failed, checksum-mismatched and not-in-bundle versions: apply refuses to run."""
        return len(self.status.problems)

    @property
    def last_apply(self) -> MigrationStatus | None:
        """The most recently installed history row (ties: the highest version)."""
        installed = [m for m in self.status.migrations if m.installed_on is not None]
        if not installed:
            return None
        return max(installed, key=lambda m: (m.installed_on, m.version))


def server_of(conn: Conn) -> str:
    """Where ``conn`` is connected, as ``host:port``."""
    return f"{conn.info.host}:{conn.info.port}"


def read_overview(conn: Conn, target: Dsn, bundle: Sequence[Migration]) -> Overview:
    """The overview of the database behind ``conn`` (read-only; four short queries)."""
    status = read_status(conn, bundle)
    applied = status.history
    by_version = {m.version: m for m in bundle}
    key = locks.lock_key(status.database)
    notes: dict[int, str] = {}
    if any(m.state == "failed" for m in status.migrations):
        from gordon_migrate import leftovers  # pglast: paid only on a dirty history

        notes = leftovers.plan_resume(conn, status, bundle).notes
    return Overview(
        target=target.redacted,
        server=server_of(conn),
        status=status,
        records=[
            MigrationRecord(
                status=m, migration=by_version.get(m.version), applied=applied.get(m.version)
            )
            for m in status.migrations
        ],
        lock_key=key,
        lock_holder=locks.holder(conn, key),
        resume_notes=notes,
    )


def overview(
    target: Dsn,
    bundle: Sequence[Migration],
    purpose: str = "overview",
    *,
    doing: str = "reading the overview",
) -> Overview:
    """``read_overview`` on a read-only connection of its own (works on a standby too)."""
    with connection(target, purpose=purpose, doing=doing, read_only=True) as conn:
        return read_overview(conn, target, bundle)


@dataclass(frozen=True)
class PlannedOverview(Overview):
    """The overview, plus the lock plan of the pending migrations and the sessions that hold
    conflicting locks now."""

    plan: LockPlan = field(default_factory=LockPlan)


def pending_plan(
    conn: Conn, records: Sequence[MigrationRecord], bundle: Sequence[Migration]
) -> LockPlan:
    """The lock plan of the pending migrations of ``records``, with who conflicts now."""
    from gordon_migrate.lint import lock_plan  # pglast: paid only when it is asked for

    pending = [
        r.migration for r in records if r.status.state == "pending" and r.migration is not None
    ]
    return lock_plan(pending, bundle, conn)


def planned_overview(
    target: Dsn, bundle: Sequence[Migration], *, purpose: str, doing: str
) -> PlannedOverview:
    """The overview and the lock plan of its pending migrations, read in one read-only
    session of their own."""
    with connection(target, purpose=purpose, doing=doing, read_only=True) as conn:
        found = read_overview(conn, target, bundle)
        values = {f.name: getattr(found, f.name) for f in fields(Overview)}
        return PlannedOverview(**values, plan=pending_plan(conn, found.records, bundle))


@dataclass(frozen=True)
class Blockers:
    """What would stop or stall an apply of some pending migrations now."""

    plan: LockPlan
    """Their lock plan: the sessions holding conflicting locks, the findings apply refuses."""
    lock_holder: Session | None
    """Who holds the migration lock, if anyone."""


def blockers(
    target: Dsn,
    pending: Sequence[Migration],
    bundle: Sequence[Migration],
    database: str,
    *,
    purpose: str,
    doing: str,
) -> Blockers:
    """The ``Blockers`` of ``pending`` (migrations of ``bundle``) in ``database``, read in one
    read-only session of their own."""
    from gordon_migrate.lint import lock_plan  # pglast: paid only when it is asked for

    with connection(target, purpose=purpose, doing=doing, read_only=True) as conn:
        holder = locks.holder(conn, locks.lock_key(database))
        return Blockers(plan=lock_plan(pending, bundle, conn), lock_holder=holder)
