"""A one-glance summary of a database: who and where, migration counts, lock holder, last apply;
and what would block the pending migrations now.

Read-only and built from the core's own pieces (``status.read_status``, ``history.read``,
``locks.holder``, and ``plan.read_plan`` for what would block): the TUI's Overview and
Migrations screens render it, nothing recomputes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from gordon_migrate.apply import history, locks
from gordon_migrate.apply.options import DEFAULT_LOCK_HOLD_BUDGET_MS
from gordon_migrate.apply.plan import ApplyPlan, read_plan
from gordon_migrate.apply.status import DatabaseStatus, MigrationStatus, read_status
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, connection
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.sessions import Session
from gordon_migrate.lint.model import LockPlan


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
    key = locks.lock_key(status.database)
    return _overview(conn, target, bundle, status, locks.holder(conn, key))


def _overview(
    conn: Conn,
    target: Dsn,
    bundle: Sequence[Migration],
    status: DatabaseStatus,
    lock_holder: Session | None,
) -> Overview:
    """The overview of ``status`` (a dirty history costs the reads of ``plan_resume``)."""
    applied = status.history
    by_version = {m.version: m for m in bundle}
    notes: dict[int, str] = {}
    if any(m.state == "failed" for m in status.migrations):
        from gordon_migrate.apply import leftovers  # pglast: paid only on a dirty history

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
        lock_key=locks.lock_key(status.database),
        lock_holder=lock_holder,
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
    """The overview and the apply plan read with it: what would run, and what would stop or
    stall it now."""

    apply_plan: ApplyPlan = field(kw_only=True)

    @property
    def plan(self) -> LockPlan:
        """The lock plan of the pending migrations, with who conflicts now."""
        return self.apply_plan.locks


def _fields(found: Overview) -> dict[str, Any]:
    """The ``Overview`` fields of ``found``, to build one of its subclasses from."""
    return {f.name: getattr(found, f.name) for f in fields(Overview)}


def planned_overview(
    target: Dsn, bundle: Sequence[Migration], *, purpose: str, doing: str
) -> PlannedOverview:
    """The overview and the apply plan of its pending migrations, read in one read-only
    session of their own."""
    with connection(target, purpose=purpose, doing=doing, read_only=True) as conn:
        # With the predicted holds: the Migrations screen shows each blocking statement's.
        found = read_plan(conn, bundle, lock_hold_budget_ms=DEFAULT_LOCK_HOLD_BUDGET_MS)
        values = _fields(_overview(conn, target, bundle, found.status, found.lock_holder))
        return PlannedOverview(**values, apply_plan=found)


# One aggregate over the catalog rows DDL and GRANT rewrite: a created, dropped, altered or
# re-granted table, view, index, sequence, function or constraint of a non-system schema gives
# the row a new xmin (or changes the count). Other sessions' temporary tables are left out:
# they come and go without touching the schema. An autovacuum freeze may change it once: a
# needless drift check, never a missed one.
_SCHEMA_FINGERPRINT = """
SELECT (SELECT count(*)::text || ':' || coalesce(sum(c.xmin::text::bigint), 0)::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relpersistence <> 't' AND n.nspname <> 'information_schema'
          AND n.nspname !~ '^pg_')
    || '/' ||
       (SELECT count(*)::text || ':' || coalesce(sum(p.xmin::text::bigint), 0)::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
    || '/' ||
       (SELECT count(*)::text || ':' || coalesce(sum(o.xmin::text::bigint), 0)::text
        FROM pg_constraint o JOIN pg_namespace n ON n.oid = o.connamespace
        WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
"""


def schema_fingerprint(conn: Conn) -> str:
    """A value that changes when the schema (tables, columns, indexes, grants, functions,
    constraints) of the Gordon schemas changes: one cheap catalog read, not a drift check."""
    row = conn.execute(_SCHEMA_FINGERPRINT).fetchone()
    return str(row[0]) if row else ""


@dataclass(frozen=True)
class LiveOverview(PlannedOverview):
    """One refresh cycle of the TUI: the planned overview and the schema's fingerprint."""

    fingerprint: str = ""


def live_overview(
    target: Dsn,
    bundle: Sequence[Migration],
    previous: LiveOverview | None = None,
    *,
    purpose: str,
    doing: str,
) -> LiveOverview:
    """Everything one refresh cycle of the TUI reads, in one short read-only session.

    The history (two queries), the migration lock's holder (one), the schema fingerprint
    (one) and, only while migrations are pending, who holds locks conflicting with their plan
    (one). The plan itself (parsing every pending file, reading table sizes) is kept from
    ``previous`` while the pending versions and the schema are unchanged: a refresh every few
    seconds must not lint on every cycle.
    """
    with connection(target, purpose=purpose, doing=doing, read_only=True) as conn:
        fingerprint = schema_fingerprint(conn)
        kept = None
        if previous is not None and previous.fingerprint == fingerprint:
            kept = previous.apply_plan
        found = read_plan(conn, bundle, previous=kept)
        values = _fields(_overview(conn, target, bundle, found.status, found.lock_holder))
        return LiveOverview(**values, apply_plan=found, fingerprint=fingerprint)
