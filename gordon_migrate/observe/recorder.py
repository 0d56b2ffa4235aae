"""The facts of one apply run, as the engine reports them: the source of the metrics and the
report (and of nothing the engine decides: it never reads these back).

Times: ``*_at`` are Unix seconds (wall clock, for people and Prometheus), durations come from
the monotonic clock. A statement retried after a lock timeout is one record with several
attempts: its duration is its last attempt's, its lock wait the attempts that timed out plus
the pauses after them (what the deploy gate spent waiting on other sessions' locks).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from gordon_migrate.apply.events import Observer

if TYPE_CHECKING:
    from gordon_migrate.apply.status import DatabaseStatus
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.core.errors import GordonError
    from gordon_migrate.core.sessions import Holder
    from gordon_migrate.sql.split import Statement

LOCK_NOT_AVAILABLE = "55P03"

StatementOutcome = Literal["ok", "failed", "lock_timeout", "interrupted", "not_run"]
MigrationOutcome = Literal["applied", "failed", "interrupted"]
RunOutcome = Literal["success", "failed", "interrupted"]


@dataclass
class LockTimeoutRecord:
    """One attempt that hit lock_timeout, and whom it waited behind."""

    attempt: int
    line: int
    at: float
    waited_s: float
    """How long the attempt's statement queued for its lock (about lock_timeout)."""
    blockers: list[dict[str, object]]
    retried: bool = False
    pause_s: float = 0.0
    """From the timeout to the next attempt (the jittered pause, plus reading the blockers)."""


@dataclass
class StatementRecord:
    index: int
    line: int
    start: int
    text: str
    at: float = 0.0
    duration_s: float = 0.0
    attempts: int = 0
    outcome: StatementOutcome = "not_run"
    sqlstate: str | None = None
    lock_wait_s: float = 0.0
    _started: float = 0.0


@dataclass
class MigrationRecord:
    version: int
    file: str
    description: str
    no_transaction: bool
    at: float
    statements: list[StatementRecord]
    duration_s: float = 0.0
    """Wall time from its first attempt to its commit (or failure), retries and pauses in."""
    execution_s: float | None = None
    """What the history's execution_time says: the attempt that committed."""
    attempts: int = 0
    outcome: MigrationOutcome = "failed"
    lock_timeouts: list[LockTimeoutRecord] = field(default_factory=list)
    _started: float = 0.0

    @property
    def lock_wait_s(self) -> float:
        return sum(t.waited_s + t.pause_s for t in self.lock_timeouts)

    @property
    def retries(self) -> int:
        return sum(1 for t in self.lock_timeouts if t.retried)


@dataclass
class RunError:
    kind: str
    failure_mode: str | None
    message: str
    fields: dict[str, str | int]


@dataclass
class RunRecord:
    database: str
    tool_version: str
    bundle_version: int
    bundle_size: int
    at: float
    duration_s: float = 0.0
    finished_at: float = 0.0
    outcome: RunOutcome = "failed"
    error: RunError | None = None
    lock_wait_s: float = 0.0
    """Waiting for the migration (advisory) lock, another runner's."""
    already_applied: int | None = None
    applied_versions: list[int] | None = None
    """Versions the history holds after the run, as far as the run knows (None: never read)."""
    migrations: list[MigrationRecord] = field(default_factory=list)
    trace_id: str | None = None
    server_version: str | None = None
    """The target's (None: never connected): the report shows the plan measured there."""

    @property
    def applied(self) -> list[MigrationRecord]:
        return [m for m in self.migrations if m.outcome == "applied"]

    @property
    def schema_version(self) -> int | None:
        """The highest applied version after the run (None: the history was never read)."""
        if self.applied_versions is None:
            return None
        return max(self.applied_versions, default=0)

    @property
    def pending(self) -> int | None:
        if self.applied_versions is None:
            return None
        return max(self.bundle_size - len(set(self.applied_versions)), 0)

    @property
    def lock_timeouts(self) -> int:
        return sum(len(m.lock_timeouts) for m in self.migrations)

    @property
    def retries(self) -> int:
        return sum(m.retries for m in self.migrations)

    @property
    def stall_s(self) -> float:
        """Seconds the run's statements queued for table locks: other sessions' queries could
        queue behind each such request that long."""
        return sum(t.waited_s for m in self.migrations for t in m.lock_timeouts)


def _line(sql: str, offset: int) -> int:
    return sql.count("\n", 0, offset) + 1


class Recorder(Observer):
    """Builds a ``RunRecord`` from the engine's events; ``finish`` closes it."""

    def __init__(
        self,
        *,
        database: str,
        tool_version: str,
        bundle: Sequence[Migration] = (),
        redact: bool = True,
    ) -> None:
        self.record = RunRecord(
            database=database,
            tool_version=tool_version,
            bundle_version=0,
            bundle_size=0,
            at=time.time(),
        )
        self._bundle_versions: set[int] = set()
        self.set_bundle(bundle)
        self._started = time.monotonic()
        self._lock_wait_started: float | None = None
        self._current: MigrationRecord | None = None
        self._current_sql = ""
        self._by_start: dict[int, StatementRecord] = {}
        self._last_timeout: LockTimeoutRecord | None = None
        self._redact = redact

    def set_bundle(self, bundle: Sequence[Migration]) -> None:
        """The bundle this run carries (known once it is read, before connecting)."""
        self._bundle_versions = {m.version for m in bundle}
        self.record.bundle_version = max(self._bundle_versions, default=0)
        self.record.bundle_size = len(self._bundle_versions)

    # -- the engine's events ---------------------------------------------------------
    def status_read(self, status: DatabaseStatus) -> None:
        self.record.database = status.database
        self.record.server_version = status.server_version
        applied = [s.version for s in status.migrations if s.state == "applied"]
        self.record.already_applied = len(applied)
        self.record.applied_versions = applied

    def lock_waiting(self) -> None:
        self._lock_wait_started = time.monotonic()

    def lock_acquired(self, waited_s: float) -> None:
        self._lock_wait_started = None
        self.record.lock_wait_s = waited_s

    def migration_started(self, migration: Migration, statements: Sequence[Statement]) -> None:
        now = time.monotonic()
        records = [
            StatementRecord(
                index=i,
                line=_line(migration.sql, s.start),
                start=s.start,
                text=self._text(s.text),
            )
            for i, s in enumerate(statements)
        ]
        current = MigrationRecord(
            version=migration.version,
            file=migration.filename,
            description=migration.description,
            no_transaction=migration.no_transaction,
            at=time.time(),
            statements=records,
            attempts=1,
            _started=now,
        )
        self.record.migrations.append(current)
        self._current, self._current_sql = current, migration.sql
        self._by_start = {r.start: r for r in records}
        self._last_timeout = None

    def statement_started(self, statement: Statement) -> None:
        record = self._statement(statement)
        if record is None:
            return
        now = time.monotonic()
        if self._last_timeout is not None:
            # Whatever timed out last is being tried again.
            self._last_timeout.retried = True
            self._last_timeout.pause_s = now - self._last_timeout.at
            self._last_timeout = None
        record.attempts += 1
        record.at, record._started = time.time(), now
        record.outcome = "interrupted"  # until it answers

    def statement_finished(self, statement: Statement, error: BaseException | None) -> None:
        record = self._statement(statement)
        if record is None:
            return
        record.duration_s = time.monotonic() - record._started
        sqlstate = getattr(error, "sqlstate", None) if error is not None else None
        record.sqlstate = sqlstate if isinstance(sqlstate, str) else None
        if error is None:
            record.outcome = "ok"
        elif record.sqlstate == LOCK_NOT_AVAILABLE:
            record.outcome = "lock_timeout"
            record.lock_wait_s += record.duration_s
        else:
            record.outcome = "failed"

    def lock_timed_out(
        self, migration: Migration, statement: Statement, attempt: int, blockers: Sequence[Holder]
    ) -> None:
        current = self._current
        if current is None:
            return
        record = self._statement(statement)
        timeout = LockTimeoutRecord(
            attempt=attempt,
            line=_line(migration.sql, statement.start),
            at=time.monotonic(),
            waited_s=record.duration_s if record is not None else 0.0,
            blockers=[_blocker(b) for b in blockers],
        )
        current.lock_timeouts.append(timeout)
        current.attempts = max(current.attempts, attempt + 1)
        self._last_timeout = timeout

    def migration_finished(self, migration: Migration, elapsed_ns: int, attempts: int) -> None:
        current = self._current
        if current is None or current.version != migration.version:
            return
        current.duration_s = time.monotonic() - current._started
        current.execution_s = elapsed_ns / 1e9
        current.attempts = attempts
        current.outcome = "applied"
        if self.record.applied_versions is not None:
            self.record.applied_versions.append(migration.version)
        self._current = None
        self._last_timeout = None

    # -- the end ----------------------------------------------------------------------
    def finish(self, error: BaseException | None) -> RunRecord:
        """Close the record: the run returned (``error`` None) or raised ``error``."""
        run = self.record
        now = time.monotonic()
        run.duration_s = now - self._started
        run.finished_at = time.time()
        if self._lock_wait_started is not None:
            run.lock_wait_s = now - self._lock_wait_started
        current = self._current
        interrupted = _is_interrupt(error)
        if current is not None:
            current.duration_s = now - current._started
            current.outcome = "interrupted" if interrupted else "failed"
            if self._last_timeout is not None:
                # The last lock timeout was not retried: the window was spent.
                self._last_timeout.retried = False
        if error is None:
            run.outcome = "success"
            # A run that succeeded leaves every bundled migration applied.
            run.applied_versions = sorted(set(run.applied_versions or ()) | self._bundle_versions)
        else:
            run.outcome = "interrupted" if interrupted else "failed"
            run.error = _run_error(error)
        return run

    # -- helpers ------------------------------------------------------------------------
    def _statement(self, statement: Statement) -> StatementRecord | None:
        if self._current is None:
            return None
        return self._by_start.get(statement.start)

    def _text(self, text: str) -> str:
        return redact_statement(text) if self._redact else text


MAX_STATEMENT_CHARS = 2000


def redact_statement(text: str) -> str:
    """A statement as the logs would show it: passwords (DSN-shaped, known, and every
    ``PASSWORD '...'`` literal) masked, bounded in length."""
    from gordon_migrate.core.dsn import scrub

    shown = scrub(text.strip())
    if "password" in shown.lower():
        from gordon_migrate.core.sessions import redact_passwords

        shown = redact_passwords(shown)
    if len(shown) > MAX_STATEMENT_CHARS:
        shown = shown[:MAX_STATEMENT_CHARS] + " ..."
    return shown


def _blocker(blocker: Holder) -> dict[str, object]:
    return {
        "pid": blocker.pid,
        "relation": blocker.relation,
        "mode": blocker.mode,
        "application": blocker.application_name,
        "user": blocker.username,
        "state": blocker.state if blocker.visible else None,
        "xact_start": blocker.xact_start.isoformat() if blocker.xact_start else None,
    }


def _is_interrupt(error: BaseException | None) -> bool:
    from gordon_migrate.apply.interrupts import Interrupted
    from gordon_migrate.core.errors import InterruptedApplyError

    return isinstance(error, InterruptedApplyError | Interrupted | KeyboardInterrupt)


def _run_error(error: BaseException) -> RunError:
    from gordon_migrate.core.dsn import one_line, scrub
    from gordon_migrate.core.errors import GordonError

    if isinstance(error, GordonError):
        gordon: GordonError = error
        return RunError(
            kind=gordon.kind,
            failure_mode=gordon.failure_mode,
            message=one_line(scrub(str(gordon))),
            fields=dict(gordon.fields()),
        )
    kind = "interrupted" if _is_interrupt(error) else "internal"
    return RunError(
        kind=kind,
        failure_mode="FM-30" if kind == "interrupted" else "FM-28",
        message=one_line(scrub(str(error) or type(error).__name__)),
        fields={},
    )
