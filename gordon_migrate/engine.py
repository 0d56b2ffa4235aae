"""The apply engine: plan, validate and run migrations exactly as sqlx would, but safer.

Semantics (the compatibility contract, see DESIGN.md and README "How apply works"):
- each migration runs in its own transaction together with its history row, unless its first
  line is ``-- no-transaction``; then a ``success = false`` row is written first and set true
  after, so a crash leaves a visible dirty marker;
- the run stops at the first failure; earlier migrations of the run stay applied;
- nothing runs while the history has a dirty row, a checksum mismatch or a version the bundle
  lacks, or when the server is a standby;
- runners are serialised by sqlx's advisory lock, taken by polling (see ``locks.acquire``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import psycopg
import structlog

from gordon_migrate import history, locks
from gordon_migrate.bundle import Migration
from gordon_migrate.db import (
    Conn,
    connect,
    is_connection_lost,
    lost_error,
    one_line,
    server_version,
)
from gordon_migrate.dsn import Dsn
from gordon_migrate.durations import format_ms
from gordon_migrate.errors import (
    HistoryError,
    LockWaitError,
    MigrationError,
    ServerStateError,
)
from gordon_migrate.sqlsplit import Statement, split

log = structlog.get_logger("gordon_migrate.engine")

# Defaults chosen for a deploy gate on a live trading database (README: "Timeouts"):
# a DDL lock request that queues behind a long transaction blocks every query that arrives
# after it, so lock waits are short and retried; statements themselves get a generous bound.
DEFAULT_LOCK_WAIT_S = 300.0
DEFAULT_LOCK_TIMEOUT_MS = 5_000
DEFAULT_STATEMENT_TIMEOUT_MS = 15 * 60_000
DEFAULT_LOCK_RETRIES = 3
MAX_BACKOFF_S = 30.0
_JITTER = secrets.SystemRandom()

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
INSUFFICIENT_PRIVILEGE = "42501"

State = Literal["applied", "pending", "failed", "checksum_mismatch", "missing_from_bundle"]
INCONSISTENT: frozenset[State] = frozenset({"failed", "checksum_mismatch", "missing_from_bundle"})


@dataclass(frozen=True)
class ApplyOptions:
    """Knobs of one apply run (durations in milliseconds, 0 disables a timeout)."""

    lock_wait_s: float = DEFAULT_LOCK_WAIT_S
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    lock_retries: int = DEFAULT_LOCK_RETRIES
    dry_run: bool = False

    def session_settings(self) -> dict[str, str]:
        return {
            "lock_timeout": format_ms(self.lock_timeout_ms),
            "statement_timeout": format_ms(self.statement_timeout_ms),
        }


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


@dataclass(frozen=True)
class AppliedStep:
    """One migration this run applied."""

    version: int
    description: str
    filename: str
    execution_time_ns: int
    attempts: int
    no_transaction: bool


@dataclass
class ApplyResult:
    """What a run did (or, with ``dry_run``, would do)."""

    database: str
    server_version: str
    dry_run: bool
    already_applied: int
    planned: list[MigrationStatus] = field(default_factory=list)
    applied: list[AppliedStep] = field(default_factory=list)
    lock_waited_s: float = 0.0


Event = Literal["lock_wait", "start", "retry", "done"]
Progress = Callable[[Event, Migration | None, str], None]


def _no_progress(event: Event, migration: Migration | None, detail: str) -> None:
    """Default progress sink: the engine logs anyway."""


_PROBE = """
SELECT pg_is_in_recovery(), to_regclass('public._sqlx_migrations') IS NOT NULL,
       current_user::text, current_database()::text
"""


def read_status(conn: Conn, bundle: Sequence[Migration]) -> DatabaseStatus:
    """Compare the history table with ``bundle`` (read-only; two round trips)."""
    row = conn.execute(_PROBE).fetchone()
    assert row is not None
    in_recovery, history_exists, user, database = row
    try:
        applied = history.read(conn) if history_exists else {}
    except psycopg.errors.InsufficientPrivilege:
        raise ServerStateError(
            f"role {user} cannot migrate database {database}: it cannot read "
            "public._sqlx_migrations. Nothing was run. Connect as the migration-privileged "
            "(bootstrap) role; runtime roles never migrate"
        ) from None
    return DatabaseStatus(
        database=str(database),
        user=str(user),
        server_version=server_version(conn),
        in_recovery=bool(in_recovery),
        history_exists=bool(history_exists),
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


def check_history(status: DatabaseStatus) -> None:
    """Refuse to run anything on an inconsistent history: name the version and the way out."""
    problems = status.problems
    if not problems:
        return
    first = problems[0]
    more = (
        f" (and {len(problems) - 1} more: run `gordon-migrate status`)" if len(problems) > 1 else ""
    )
    if first.state == "failed":
        from gordon_migrate import dirty

        message = (
            f"migration {first.label} is dirty: its history row has success = false; "
            f"{dirty.cause(first.no_transaction)}. Nothing was run. "
            f"{dirty.next_step(first.version, first.no_transaction)} ({dirty.RUNBOOK})"
        )
    elif first.state == "checksum_mismatch":
        message = (
            f"migration {first.label} was edited after it was applied: its SHA-384 differs "
            "from the checksum in the history. Nothing was run. Restore the file as applied "
            "and put the change in a new migration (docs/spof-runbook.md, checksum mismatch)"
        )
    else:
        message = (
            f"database {status.database} has migration {first.version:04d} "
            f"({first.description!r}) applied, but this bundle does not contain it: an older "
            "image is being deployed over a newer database. Nothing was run. Deploy the image "
            "that contains it (docs/spof-runbook.md, database ahead of the bundle)"
        )
    raise HistoryError(message + more)


def check_server(status: DatabaseStatus) -> None:
    if status.in_recovery:
        raise ServerStateError(
            f"the server of database {status.database} is a standby (in recovery): it cannot "
            "be migrated. Point DATABASE_URL at the primary"
        )


_PRIVILEGES = """
SELECT r.rolsuper,
       has_database_privilege(current_database(), 'CREATE'),
       CASE WHEN to_regclass('public._sqlx_migrations') IS NULL
            THEN has_schema_privilege('public', 'CREATE')
            ELSE has_table_privilege('public._sqlx_migrations', 'SELECT, INSERT, UPDATE') END
FROM pg_roles r WHERE r.rolname = current_user
"""


def check_privileges(conn: Conn, status: DatabaseStatus) -> None:
    """Refuse early when the role obviously cannot migrate (before any lock or DDL)."""
    row = conn.execute(_PRIVILEGES).fetchone()
    assert row is not None
    superuser, create_db, history_ok = (bool(v) for v in row)
    if superuser:
        return
    missing = []
    if not create_db:
        missing.append(f"CREATE on database {status.database}")
    if not history_ok:
        missing.append(
            "SELECT, INSERT, UPDATE on public._sqlx_migrations"
            if status.history_exists
            else "CREATE on schema public (for the history table)"
        )
    if missing:
        raise ServerStateError(
            f"role {status.user} cannot migrate database {status.database}: it lacks "
            f"{' and '.join(missing)}. Nothing was run. Connect as the migration-privileged "
            "(bootstrap) role; runtime roles never migrate"
        )


def plan(dsn: Dsn, bundle: Sequence[Migration], options: ApplyOptions) -> ApplyResult:
    """``apply --dry-run``: validate and list what would run, read-only, without the lock."""
    with connect(dsn, purpose="apply --dry-run", read_only=True) as conn:
        status = read_status(conn, bundle)
    check_server(status)
    check_history(status)
    return ApplyResult(
        database=status.database,
        server_version=status.server_version,
        dry_run=True,
        already_applied=status.count("applied"),
        planned=status.pending,
    )


def apply(
    dsn: Dsn,
    bundle: Sequence[Migration],
    options: ApplyOptions | None = None,
    progress: Progress = _no_progress,
) -> ApplyResult:
    """Apply every pending migration of ``bundle``; stop at the first failure.

    A no-op (nothing pending) costs two queries and takes no lock.
    """
    opts = options or ApplyOptions()
    if opts.dry_run:
        return plan(dsn, bundle, opts)
    with connect(dsn, purpose="apply", options=opts.session_settings()) as conn:
        try:
            return _apply(conn, dsn, bundle, opts, progress)
        except psycopg.Error as exc:
            if is_connection_lost(exc):
                raise lost_error(dsn, exc, "reading or locking the history") from None
            raise


def _apply(
    conn: Conn, dsn: Dsn, bundle: Sequence[Migration], opts: ApplyOptions, progress: Progress
) -> ApplyResult:
    status = read_status(conn, bundle)
    check_server(status)
    check_history(status)
    result = ApplyResult(
        database=status.database,
        server_version=status.server_version,
        dry_run=False,
        already_applied=status.count("applied"),
    )
    if not status.pending:
        log.info("database is up to date", database=status.database, applied=result.already_applied)
        return result

    check_privileges(conn, status)
    key = history.lock_key(status.database)
    progress("lock_wait", None, f"advisory lock {key}")
    try:
        result.lock_waited_s = locks.acquire(conn, key, opts.lock_wait_s)
    except locks.LockTimeout as exc:
        raise LockWaitError(
            f"{exc.describe(status.database, key)}. Another runner is migrating, or a crashed "
            "one left its session open: wait and re-run, or end it with `gordon-migrate unlock` "
            "(docs/spof-runbook.md, lock held)"
        ) from None

    # Under the lock, the history is the truth: another runner may just have finished.
    conn.execute(history.CREATE_HISTORY)
    status = read_status(conn, bundle)
    check_history(status)
    result.already_applied = status.count("applied")
    by_version = {m.version: m for m in bundle}
    pending = [by_version[s.version] for s in status.pending]
    highest = max((s.version for s in status.migrations if s.state == "applied"), default=0)
    for migration in pending:
        if migration.version < highest:
            log.warning(
                "applying a migration older than the newest applied one",
                migration=migration.filename,
                newest_applied=highest,
            )
        result.applied.append(_run_one(conn, dsn, migration, opts, progress))
    log.info(
        "apply complete",
        database=status.database,
        applied=len(result.applied),
        already_applied=result.already_applied,
    )
    return result


_INSERT_ROW = """
INSERT INTO public._sqlx_migrations (version, description, success, checksum, execution_time)
VALUES (%s, %s, %s, %s, %s)
"""
_MARK_SUCCESS = """
UPDATE public._sqlx_migrations SET success = TRUE, execution_time = %s WHERE version = %s
"""


def _run_one(
    conn: Conn, dsn: Dsn, migration: Migration, opts: ApplyOptions, progress: Progress
) -> AppliedStep:
    statements = split(migration.sql)
    attempts = 0
    while True:
        attempts += 1
        progress("start", migration, f"attempt {attempts}")
        log.info("applying migration", migration=migration.filename, attempt=attempts)
        try:
            elapsed = (
                _run_outside_transaction(conn, migration, statements)
                if migration.no_transaction
                else _run_in_transaction(conn, migration, statements)
            )
        except _StatementFailed as failed:
            exc = failed.error
            if is_connection_lost(exc):
                raise _lost_during(dsn, migration, exc) from None
            retryable = exc.sqlstate == LOCK_NOT_AVAILABLE and not migration.no_transaction
            if retryable and attempts <= opts.lock_retries:
                pause = _backoff(opts.lock_timeout_ms, attempts)
                log.warning(
                    "lock_timeout inside migration; rolled back, retrying",
                    migration=migration.filename,
                    attempt=attempts,
                    retry_in_s=round(pause, 2),
                    line=failed.line(migration.sql),
                )
                progress("retry", migration, f"lock_timeout, retry in {pause:.1f}s")
                time.sleep(pause)
                continue
            raise _migration_error(dsn, migration, failed, attempts, opts) from None
        progress("done", migration, f"{elapsed / 1e6:.1f} ms")
        log.info(
            "migration applied",
            migration=migration.filename,
            ms=round(elapsed / 1e6, 1),
            attempts=attempts,
        )
        return AppliedStep(
            version=migration.version,
            description=migration.description,
            filename=migration.filename,
            execution_time_ns=elapsed,
            attempts=attempts,
            no_transaction=migration.no_transaction,
        )


def _backoff(lock_timeout_ms: int, attempt: int) -> float:
    """Exponential backoff scaled on lock_timeout, with jitter so retrying runners spread out."""
    base = max(lock_timeout_ms, 100) / 1000.0
    return min(base * 2.0 ** (attempt - 1), MAX_BACKOFF_S) * _JITTER.uniform(0.75, 1.25)


class _StatementFailed(Exception):
    def __init__(self, statement: Statement, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.statement = statement
        self.error = error

    def line(self, sql: str) -> int:
        """Line in the file: the statement's start, refined by the server's error position."""
        offset = self.statement.start
        diag = self.error.diag
        position = diag.statement_position
        if position and position.isdigit():
            offset += max(int(position) - 1, 0)
        return sql.count("\n", 0, offset) + 1


def _execute_all(conn: Conn, statements: Sequence[Statement]) -> None:
    for statement in statements:
        try:
            conn.execute(statement.text.encode("utf-8"))
        except psycopg.Error as exc:
            raise _StatementFailed(statement, exc) from exc


def _run_in_transaction(conn: Conn, migration: Migration, statements: Sequence[Statement]) -> int:
    """Run the migration and write its history row in one transaction; return nanoseconds."""
    try:
        with conn.transaction():
            start = time.perf_counter_ns()
            _execute_all(conn, statements)
            elapsed = time.perf_counter_ns() - start
            conn.execute(
                _INSERT_ROW,
                (migration.version, migration.description, True, migration.checksum, elapsed),
            )
    except psycopg.Error as exc:
        # The history insert itself (or COMMIT) failed: report it at the end of the file.
        raise _StatementFailed(Statement(text="", start=len(migration.sql)), exc) from exc
    return elapsed


def _run_outside_transaction(
    conn: Conn, migration: Migration, statements: Sequence[Statement]
) -> int:
    """Dirty row first, statements one by one in autocommit, then mark the row clean."""
    conn.execute(
        _INSERT_ROW, (migration.version, migration.description, False, migration.checksum, -1)
    )
    start = time.perf_counter_ns()
    _execute_all(conn, statements)
    elapsed = time.perf_counter_ns() - start
    conn.execute(_MARK_SUCCESS, (elapsed, migration.version))
    return elapsed


def _lost_during(dsn: Dsn, migration: Migration, exc: psycopg.Error) -> Exception:
    error = lost_error(dsn, exc, f"applying migration {migration.label}")
    if migration.no_transaction:
        tail = (
            "; it runs outside a transaction, so its history row stays dirty (success = false): "
            "check which of its statements took effect, finish or undo them, then "
            f"`gordon-migrate repair {migration.version}` (docs/spof-runbook.md, dirty migration)"
        )
    else:
        tail = (
            "; its transaction was rolled back by the server, nothing of it was applied, earlier "
            "migrations stay applied: re-run apply once the server is reachable"
        )
    return type(error)(str(error) + tail)


def _migration_error(
    dsn: Dsn, migration: Migration, failed: _StatementFailed, attempts: int, opts: ApplyOptions
) -> MigrationError:
    exc = failed.error
    state = exc.sqlstate or "?????"
    primary = one_line(dsn.scrub(exc.diag.message_primary or str(exc)))
    where = f"{migration.label} line {failed.line(migration.sql)}"
    if migration.no_transaction:
        undone = (
            "it ran outside a transaction: earlier statements of it may have taken effect and "
            "its history row is dirty; finish or undo by hand, then "
            f"`gordon-migrate repair {migration.version}`"
        )
    else:
        undone = "it was rolled back (nothing of it applied); earlier migrations stay applied"
    if state == LOCK_NOT_AVAILABLE:
        lead = (
            f"migration {where} could not get a table lock within lock_timeout="
            f"{format_ms(opts.lock_timeout_ms)} after {attempts} attempt(s) (SQLSTATE {state}: "
            f"{primary}): a long-running transaction holds a conflicting lock"
        )
        advice = "find it with `gordon-migrate diagnose`, end it or wait, then re-run"
    elif state == QUERY_CANCELED:
        lead = (
            f"migration {where} was cancelled by statement_timeout="
            f"{format_ms(opts.statement_timeout_ms)} (SQLSTATE {state}: {primary})"
        )
        advice = "raise --statement-timeout if this is expected, or make the migration cheaper"
    elif state == INSUFFICIENT_PRIVILEGE:
        lead = f"migration {where} failed: SQLSTATE {state}: {primary}"
        advice = "connect as the migration-privileged (bootstrap) role"
    else:
        lead = f"migration {where} failed: SQLSTATE {state}: {primary}"
        for extra in (exc.diag.message_detail, exc.diag.message_hint):
            if extra:
                lead += f" ({one_line(dsn.scrub(extra))})"
        advice = (
            "fix the migration or the state it expects; if it is applied elsewhere, fix forward "
            "with a new migration"
        )
    return MigrationError(f"{lead}; {undone}; {advice}")
