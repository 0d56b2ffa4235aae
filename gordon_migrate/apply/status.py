"""What the history table says about the bundle: every migration's state (read-only).

``status`` shows it, ``apply`` decides on it (``refusals.check_history``), ``diagnose`` and the
TUI read it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gordon_migrate.apply import history
from gordon_migrate.apply.history import HISTORY_TABLE
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, mapped, server_facts
from gordon_migrate.core.errors import INSUFFICIENT_PRIVILEGE, ServerError, ServerStateError

State = Literal["applied", "pending", "failed", "checksum_mismatch", "missing_from_bundle"]
INCONSISTENT: frozenset[State] = frozenset({"failed", "checksum_mismatch", "missing_from_bundle"})


@dataclass(frozen=True)
class MigrationStatus:
    """A bundled migration, or an applied version the bundle lacks, and its state."""

    version: int
    description: str
    state: State
    filename: str | None
    installed_on: datetime | None = None
    execution_time_ns: int | None = None
    no_transaction: bool = False

    @property
    def label(self) -> str:
        return f"{self.version:04d} ({self.filename or 'not in bundle'})"


@dataclass(frozen=True)
class DatabaseStatus:
    """What the history says about the bundle, read in two round trips."""

    database: str
    user: str
    server_version: str
    in_recovery: bool
    history_exists: bool
    migrations: list[MigrationStatus]
    read_only: bool = False
    """The session's transactions are read-only (see ``ServerFacts.read_only``)."""
    history: dict[int, history.AppliedMigration] = field(default_factory=dict)
    """The history rows themselves, by version (empty when there is no history table)."""

    @property
    def pending(self) -> list[MigrationStatus]:
        return [m for m in self.migrations if m.state == "pending"]

    @property
    def problems(self) -> list[MigrationStatus]:
        return [m for m in self.migrations if m.state in INCONSISTENT]

    @property
    def consistent(self) -> bool:
        return not self.problems

    def count(self, state: State) -> int:
        return sum(1 for m in self.migrations if m.state == state)


def read_status(conn: Conn, bundle: Sequence[Migration]) -> DatabaseStatus:
    """Compare the history table with ``bundle`` (read-only; two round trips)."""
    facts = server_facts(conn)
    try:
        with mapped():
            applied = history.read(conn) if facts.history_exists else {}
    except ServerError as exc:
        if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
            raise
        raise ServerStateError(
            f"role {facts.user} cannot migrate database {facts.database}: it cannot read "
            f"{HISTORY_TABLE}. Nothing was run. Connect as the migration-privileged "
            "(bootstrap) role; runtime roles never migrate",
            failure_mode="FM-12",
        ) from None
    return DatabaseStatus(
        database=facts.database,
        user=facts.user,
        server_version=facts.server_version,
        in_recovery=facts.in_recovery,
        history_exists=facts.history_exists,
        read_only=facts.read_only,
        migrations=compare(bundle, applied),
        history=applied,
    )


def compare(
    bundle: Sequence[Migration], applied: dict[int, history.AppliedMigration]
) -> list[MigrationStatus]:
    """The state of every bundled migration and of every applied version the bundle lacks."""
    out: list[MigrationStatus] = []
    bundled = {m.version: m for m in bundle}
    for version in sorted(bundled.keys() | applied.keys()):
        m = bundled.get(version)
        row = applied.get(version)
        state: State
        if row is None:
            state = "pending"
        elif m is None:
            state = "missing_from_bundle"
        elif not row.success:
            state = "failed"
        elif row.checksum != m.checksum:
            state = "checksum_mismatch"
        else:
            state = "applied"
        out.append(
            MigrationStatus(
                version=version,
                description=m.description if m else (row.description if row else ""),
                state=state,
                filename=m.filename if m else None,
                installed_on=row.installed_on if row else None,
                execution_time_ns=row.execution_time if row else None,
                no_transaction=m.no_transaction if m else False,
            )
        )
    return out
