"""The apply engine: plan, validate and run migrations exactly as sqlx would, but safer.

Semantics (the compatibility contract, README "How apply works"):
- each migration runs in its own transaction together with its history row, unless its first
  line is ``-- no-transaction``; then a ``success = false`` row is written first and set true
  after, so a crash leaves a visible dirty marker;
- the run stops at the first failure; earlier migrations of the run stay applied;
- nothing runs while the history has a dirty row, a checksum mismatch or a version the bundle
  lacks, or when the server is a standby;
- runners are serialised by sqlx's advisory lock, taken by polling (see ``locks.acquire``).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import psycopg
import structlog

from gordon_migrate.apply import history, locks
from gordon_migrate.apply.events import NO_OBSERVER, Observer
from gordon_migrate.apply.history import HISTORY_TABLE
from gordon_migrate.apply.interrupts import Interrupted
from gordon_migrate.apply.status import DatabaseStatus, MigrationStatus, read_status
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import (
    APPLICATION_NAME,
    Conn,
    Watchdog,
    connect,
    connection,
    is_connection_lost,
    lost_error,
    server_encoding,
)
from gordon_migrate.core.dsn import Dsn, one_line
from gordon_migrate.core.durations import format_ms, parse_ms
from gordon_migrate.core.errors import (
    BundleError,
    ConnectionLostError,
    GordonError,
    HistoryError,
    InterruptedApplyError,
    LockWaitError,
    MigrationError,
    ServerSilentError,
    ServerStateError,
    SyncStandbyError,
)
from gordon_migrate.core.sessions import Holder, relation_holders, waited_for
from gordon_migrate.sql.split import Statement, split

if TYPE_CHECKING:
    from gordon_migrate.apply.leftovers import Leftovers
    from gordon_migrate.sql.statement import StatementInfo

log = structlog.get_logger("gordon_migrate.engine")

# Defaults chosen for a deploy gate on a live trading database (README: "Timeouts"):
# a DDL lock request that queues behind a long transaction blocks every query that arrives
# after it, so each attempt waits for its locks at most lock_timeout (the stall any other
# query can see), and attempts repeat with growing pauses over a window of minutes, long
# enough to ride out an ordinary report (GitLab's with_lock_retries is the model).
DEFAULT_LOCK_WAIT_S = 300.0
DEFAULT_LOCK_TIMEOUT_MS = 100
DEFAULT_LOCK_RETRY_WINDOW_MS = 10 * 60_000
DEFAULT_STATEMENT_TIMEOUT_MS = 15 * 60_000
FIRST_PAUSE_S = 0.05
MAX_PAUSE_S = 10.0
_JITTER = secrets.SystemRandom()

# diagnose's threshold for "a transaction has held a lock on a Gordon table too long": an age
# that matters to people, not the migration's per-attempt lock_timeout.
DEFAULT_BLOCKER_AGE_MS = 5_000

# When the server stops answering (a partition, a black-holed proxy), the client gives up
# after statement_timeout plus this margin: the server would have cancelled the statement
# by then, so a reply that still has not come will not come.
WATCHDOG_MARGIN_S = 5.0
# Bounds of the outcome check after a lost connection (connect, end the old session, read).
CHECK_TIMEOUT_S = 5.0
RECONNECT_ATTEMPTS = 2

# The migration session ends itself when its client is gone, instead of holding its locks
# until statement_timeout: the server checks the socket every second while a statement runs
# (client_connection_check_interval), sends keepalives (a dead client host is seen in about
# 20 s), and ends a session left idle in a transaction, or idle while holding the migration
# lock, by a client that vanished without closing the socket. The idle bounds sit well above
# the longest pause the tool itself takes between two statements (MAX_PAUSE_S with jitter).
SESSION_SAFETY = {
    "client_connection_check_interval": "1s",
    "idle_in_transaction_session_timeout": "10s",
    "idle_session_timeout": "30s",
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "3",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "20000",
}

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
INSUFFICIENT_PRIVILEGE = "42501"
DISK_FULL = "53100"
READ_ONLY_TRANSACTION = "25006"

# How long the run's final commit may wait for a synchronous standby before apply stops
# waiting (a standby that is gone would hold it, and the migration lock, forever).
DEFAULT_STANDBY_WAIT_S = 30.0


@dataclass(frozen=True)
class ApplyOptions:
    """Knobs of one apply run (durations in milliseconds, 0 disables a timeout)."""

    lock_wait_s: float = DEFAULT_LOCK_WAIT_S
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    """Per attempt: the longest any statement queues for a lock (and stalls others)."""
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    lock_retry_window_ms: int = DEFAULT_LOCK_RETRY_WINDOW_MS
    """How long lock-timed-out attempts are retried (0: no retry)."""
    standby_wait_s: float = DEFAULT_STANDBY_WAIT_S
    """How long a commit may wait for synchronous standbys before apply cancels the wait."""
    dry_run: bool = False

    def session_settings(self) -> dict[str, str]:
        return {
            "lock_timeout": format_ms(self.lock_timeout_ms),
            "statement_timeout": format_ms(self.statement_timeout_ms),
            **SESSION_SAFETY,
        }


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


def check_history(status: DatabaseStatus, notes: dict[int, str] | None = None) -> None:
    """Refuse to run anything on an inconsistent history: name the version and the way out
    (and, in ``notes``, why apply did not resume a dirty row by itself)."""
    problems = status.problems
    if not problems:
        return
    first = problems[0]
    more = (
        f" (and {len(problems) - 1} more: run `gordon-migrate status`)" if len(problems) > 1 else ""
    )
    failure_mode = {"failed": "FM-13", "checksum_mismatch": "FM-14"}.get(first.state, "FM-15")
    if first.state == "failed":
        from gordon_migrate.apply import dirty

        why = (notes or {}).get(first.version)
        message = (
            f"migration {first.label} is dirty: its history row has success = false; "
            f"{dirty.cause(first.no_transaction)}. Nothing was run"
            + (f" ({why})" if why else "")
            + f". {dirty.next_step(first.version, first.no_transaction)} ({dirty.RUNBOOK})"
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
    raise HistoryError(
        message + more,
        version=first.version,
        file=first.filename,
        failure_mode=failure_mode,
    )


def check_server(status: DatabaseStatus) -> None:
    if status.in_recovery:
        raise ServerStateError(
            f"the server of database {status.database} is a standby (in recovery): it cannot "
            "be migrated. Point DATABASE_URL at the primary",
            failure_mode="FM-11",
        )


def check_writable(status: DatabaseStatus) -> None:
    """On apply's own (writable) session: refuse a database or role that makes every
    transaction read-only, before any lock, instead of failing in the first statement."""
    if status.read_only:
        raise ServerStateError(
            f"database {status.database} is read-only for role {status.user}: "
            "default_transaction_read_only is on (set on the database, the role or the "
            "server), so nothing can be migrated; nothing was run. Point DATABASE_URL at the "
            "writable primary, or reset it (`ALTER DATABASE ... RESET "
            "default_transaction_read_only`) if the read-only setting is a mistake "
            "(docs/spof-runbook.md, FM-11)",
            failure_mode="FM-11",
        )


def check_encoding(conn: Conn, database: str, pending: Sequence[Migration]) -> None:
    """Refuse a pending migration whose text the database cannot store as written.

    Statements are sent as UTF-8 (the connection pins client_encoding); a database in
    another encoding converts them, and a character it has no code for fails, or, in
    SQL_ASCII, is stored as unchecked bytes. The server itself is asked, with the file's
    text, whether the round trip keeps every character.
    """
    encoding = server_encoding(conn)
    if encoding == "UTF8":
        return
    for migration in pending:
        if migration.sql.isascii():
            continue
        kept = encoding != "SQL_ASCII" and _round_trips(conn, migration.sql)
        if not kept:
            sample = next(ch for ch in migration.sql if not ch.isascii())
            raise ServerStateError(
                f"database {database} is encoded {encoding}, which cannot store migration "
                f"{migration.label} as written (it holds {sample!r}, and other characters "
                f"outside {encoding}): nothing was run. Migrate a database created with "
                "ENCODING 'UTF8', or keep the migration within the database's characters",
                version=migration.version,
                file=migration.filename,
                failure_mode="FM-19",
            )


def _round_trips(conn: Conn, text: str) -> bool:
    try:
        row = conn.execute("SELECT convert_to(%s, 'UTF8')", (text,)).fetchone()
    except (psycopg.errors.UntranslatableCharacter, psycopg.errors.CharacterNotInRepertoire):
        return False
    return row is not None and bytes(row[0]) == text.encode("utf-8")


_PRIVILEGES = f"""
SELECT r.rolsuper,
       has_database_privilege(current_database(), 'CREATE'),
       CASE WHEN to_regclass('{HISTORY_TABLE}') IS NULL
            THEN has_schema_privilege('public', 'CREATE')
            ELSE has_table_privilege('{HISTORY_TABLE}', 'SELECT, INSERT, UPDATE') END
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
            f"SELECT, INSERT, UPDATE on {HISTORY_TABLE}"
            if status.history_exists
            else "CREATE on schema public (for the history table)"
        )
    if missing:
        raise ServerStateError(
            f"role {status.user} cannot migrate database {status.database}: it lacks "
            f"{' and '.join(missing)}. Nothing was run. Connect as the migration-privileged "
            "(bootstrap) role; runtime roles never migrate",
            failure_mode="FM-12",
        )


def plan(dsn: Dsn, bundle: Sequence[Migration], options: ApplyOptions) -> ApplyResult:
    """``apply --dry-run``: validate and list what would run, read-only, without the lock."""
    with connection(
        dsn, purpose="apply --dry-run", doing="reading the history", read_only=True
    ) as conn:
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


class CancelToken:
    """Stops a running apply from another thread (the TUI), as SIGINT does for the CLI.

    ``cancel()`` cancels the running statement on the server (psycopg's thread-safe cancel
    request) and wakes any lock wait or retry pause; the apply then ends in an
    ``InterruptedApplyError`` saying what became of the migration (rolled back, or dirty).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: Conn | None = None
        self._event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            conn = self._conn
        if conn is not None and not conn.closed:
            try:
                conn.cancel_safe(timeout=CHECK_TIMEOUT_S)
            except psycopg.Error as exc:
                log.warning("cancel request failed", error=str(exc))

    def check(self) -> None:
        """Between statements and pauses: stop here if cancelled."""
        if self._event.is_set():
            raise Interrupted(CANCELLED_BY_OPERATOR)

    def sleep(self, seconds: float) -> None:
        """A pause that a cancel cuts short."""
        if self._event.wait(seconds):
            raise Interrupted(CANCELLED_BY_OPERATOR)

    def _attach(self, conn: Conn | None) -> None:
        with self._lock:
            self._conn = conn


CANCELLED_BY_OPERATOR = "the operator's cancel"


def apply(
    dsn: Dsn,
    bundle: Sequence[Migration],
    options: ApplyOptions | None = None,
    progress: Progress = _no_progress,
    cancel: CancelToken | None = None,
    observer: Observer = NO_OBSERVER,
) -> ApplyResult:
    """Apply every pending migration of ``bundle``; stop at the first failure.

    A no-op (nothing pending, nothing inconsistent) costs two queries and takes no lock.
    SIGTERM/SIGINT (as ``interrupts.Interrupted``), or ``cancel`` from another thread, cancel
    the running statement server-side and end in an ``InterruptedApplyError`` saying what
    became of the migration. ``observer`` is told the run's boundaries (metrics, report, traces).
    """
    opts = options or ApplyOptions()
    if opts.dry_run:
        return plan(dsn, bundle, opts)
    token = cancel or CancelToken()
    # The run's session is named with a token of its own: after a lost connection, the
    # outcome check ends that old session only if pid, name and role all match, never a
    # stranger that got the same pid from a restarted server.
    run_tag = f"#{secrets.token_hex(4)}"
    # The run maps a lost connection itself (run.lost: what became of the migration in
    # flight); the shared path turns any other server error into a QueryError. Its round
    # trips are guarded one by one (run.guard), not the connection's lifetime.
    with connection(
        dsn,
        purpose=f"apply {run_tag}",
        doing="reading or locking the history",
        options=opts.session_settings(),
        guarded=False,
    ) as conn:
        token._attach(conn)
        run = _Run(
            conn=conn,
            dsn=dsn,
            opts=opts,
            progress=progress,
            watchdog=Watchdog(conn),
            cancel=token,
            application_name=f"{APPLICATION_NAME} apply {run_tag}",
            observer=observer,
        )
        try:
            try:
                return _apply(run, bundle)
            except psycopg.Error as exc:
                _stop_if_cancelled(run, exc)
                if is_connection_lost(exc):
                    raise run.lost(exc, "reading or locking the history") from None
                raise
        except Interrupted as stop:
            raise InterruptedApplyError(
                f"interrupted by {stop.signal_name} before any migration started: nothing was "
                "run by this invocation; re-run apply"
            ) from None
        finally:
            token._attach(None)
            run.watchdog.stop()


@dataclass
class _Run:
    """One apply invocation: its connection, knobs and what is in flight."""

    conn: Conn
    dsn: Dsn
    opts: ApplyOptions
    progress: Progress
    watchdog: Watchdog
    cancel: CancelToken
    application_name: str = ""
    in_flight: Migration | None = None
    in_flight_statements: Sequence[Statement] = ()
    statements_done: int = 0
    statements_total: int = 0
    committed: list[int] = field(default_factory=list)
    """Versions this run committed, in order (before the final flush, a crash can lose a
    suffix of them: they commit with synchronous_commit off)."""
    observer: Observer = NO_OBSERVER

    def __post_init__(self) -> None:
        self.backend_pid = self.conn.info.backend_pid

    def guard(self, statement_timeout_ms: int | None = None) -> AbstractContextManager[None]:
        """Round trips that must be answered within statement_timeout plus a margin."""
        ms = statement_timeout_ms
        if ms is None:
            ms = self.opts.statement_timeout_ms
        return self.watchdog.guard(ms / 1000.0 + WATCHDOG_MARGIN_S if ms > 0 else None)

    def lost(self, exc: psycopg.Error, doing: str) -> GordonError:
        """The connection died or the server went silent: say so, and what became of the
        migration in flight (read back from the server when it can be reached)."""
        if self.watchdog.fired is not None:
            lead = (
                f"the server of {self.dsn.redacted} stopped answering: no reply for "
                f"{self.watchdog.fired:.0f}s (statement_timeout="
                f"{format_ms(self.opts.statement_timeout_ms)} plus {WATCHDOG_MARGIN_S:.0f}s) "
                f"while {doing}, so apply gave up on the connection"
            )
            error_type: type[GordonError] = ServerSilentError
            mode = "FM-29"
        else:
            lead = str(lost_error(self.dsn, exc, doing))
            error_type = ConnectionLostError
            mode = "FM-20"
        migration = self.in_flight
        if migration is None:
            return error_type(
                f"{lead}; no migration was in flight{self.committed_text()}: re-run apply",
                failure_mode=mode,
            )
        return error_type(
            f"{lead}; {self.outcome_text(fresh=True)}",
            version=migration.version,
            file=migration.filename,
            failure_mode=mode,
        )

    def committed_text(self, readback: Readback | None = None) -> str:
        """What became of the migrations this run committed before, as the history says."""
        if not self.committed:
            return ""
        if readback is None or readback.outcome == "unknown":
            return (
                f" (this run committed {_versions(self.committed)} before that; "
                "`gordon-migrate status` tells which of them the history kept)"
            )
        last = readback.last_version or 0
        lost = [v for v in self.committed if v > last]
        where = (
            f"the history ends at {last:04d}"
            if readback.last_version is not None
            else "the history holds no migration"
        )
        if not lost:
            return f" ({where}: what this run committed before is kept)"
        return (
            f" ({where}: {_versions(lost)}, committed by this run, "
            "did not survive, as the server lost its last commits (a crash: the run commits "
            "without waiting for the disk until its end); the next apply runs them again)"
        )

    def outcome_text(self, *, fresh: bool) -> str:
        """What became of the migration in flight, as read from the server (never assumed)."""
        migration = self.in_flight
        assert migration is not None
        readback = _settle(self, migration) if fresh else _read_outcome_here(self, migration)
        outcome = readback.outcome
        label = migration.label
        earlier = self.committed_text(readback)
        if outcome == "applied":
            return (
                f"migration {label} committed before that (its history row is there): it is "
                f"applied{earlier}; re-run apply for the rest"
            )
        if outcome == "rolled_back":
            return (
                f"migration {label} was rolled back (no history row): nothing of it was "
                f"applied{earlier}; re-run apply"
            )
        if outcome == "not_started":
            return f"migration {label} had not started (no history row){earlier}; re-run apply"
        if outcome == "dirty":
            done, total = readback.statements_done, self.statements_total
            if done < total:
                how = f"{done} of its {total} statement(s) completed, the next was cancelled"
            else:
                how = f"all {total} of its statement(s) completed, the row was not marked done"
            return (
                f"migration {label} runs outside a transaction and was left dirty "
                f"(success = false): {how} (read back from the server){earlier}; check what "
                "took effect, finish or undo it, then "
                f"`gordon-migrate repair {migration.version}` (docs/spof-runbook.md, FM-13)"
            )
        return (
            f"the outcome of migration {label} is unknown: the server could not be reached "
            "to check it. Once it can, `gordon-migrate status` tells: applied means it "
            "committed, pending that it was rolled back, FAILED (dirty) that it stopped "
            "part-way (docs/spof-runbook.md, FM-20)"
        )


def _versions(versions: Sequence[int]) -> str:
    if len(versions) == 1:
        return f"migration {versions[0]:04d}"
    return f"migrations {versions[0]:04d} to {versions[-1]:04d}"


Outcome = Literal["applied", "rolled_back", "not_started", "dirty", "unknown"]


@dataclass(frozen=True)
class Readback:
    """What the server says became of the run, after an interrupt or a lost connection."""

    outcome: Outcome
    last_version: int | None = None
    """The highest version in the history (None: no row, or not read)."""
    statements_done: int = 0
    """Of a dirty no-transaction migration: statements that took effect, as the server
    shows them (an index built concurrently counts when it exists and is valid)."""


_OUTCOME = f"""
SELECT h.success, h.checksum, (SELECT max(version) FROM {HISTORY_TABLE})
FROM (SELECT 1) one LEFT JOIN {HISTORY_TABLE} h ON h.version = %s
"""
_VALID_INDEX = """
SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s)
               AND indisvalid AND indisready)
"""


def _outcome_of(run: _Run, conn: Conn, migration: Migration) -> Readback:
    if not _history_exists(conn):
        return Readback("not_started" if migration.no_transaction else "rolled_back")
    row = conn.execute(_OUTCOME, (migration.version,)).fetchone()
    assert row is not None
    success, checksum, last = row
    last_version = None if last is None else int(last)
    if success is None:
        outcome: Outcome = "not_started" if migration.no_transaction else "rolled_back"
        return Readback(outcome, last_version)
    if bool(success) and bytes(checksum) == migration.checksum:
        return Readback("applied", last_version)
    return Readback("dirty", last_version, _statements_done(run, conn))


def _history_exists(conn: Conn) -> bool:
    row = conn.execute(f"SELECT to_regclass('{HISTORY_TABLE}') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _statements_done(run: _Run, conn: Conn) -> int:
    """The client counted the statements that answered; the one in flight when the
    connection went may still have finished on the server. For an index built concurrently
    the server can tell: the index exists and is valid."""
    from gordon_migrate.sql.statement import inspect

    done = run.statements_done
    for statement in run.in_flight_statements[done:]:
        index = inspect(statement.text).concurrent_index
        if index is None:
            break
        row = conn.execute(_VALID_INDEX, (index,)).fetchone()
        if not (row and row[0]):
            break
        done += 1
    return done


def _read_outcome_here(run: _Run, migration: Migration) -> Readback:
    """After an interrupt: psycopg cancelled the statement and the transaction was rolled
    back, so the connection is usually still good; otherwise check from a new one."""
    conn = run.conn
    if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        try:
            with run.guard(int(CHECK_TIMEOUT_S * 1000)):
                return _outcome_of(run, conn, migration)
        except psycopg.Error:
            pass
    return _settle(run, migration)


# Our old session is ended only when everything matches: the pid, the run's own
# application_name (with its random tag), the role and the database. A server restarted in
# between (a container restart reuses low pids) may have given that pid to a stranger.
_OLD_SESSION = """
FROM pg_stat_activity
WHERE pid = %(pid)s AND application_name = %(app)s AND usename = session_user
  AND datname = current_database()
"""
_END_OLD_SESSION = f"SELECT pg_terminate_backend(pid, %(wait_ms)s) {_OLD_SESSION}"
_OLD_SESSION_GONE = f"SELECT NOT EXISTS (SELECT 1 {_OLD_SESSION})"


def _settle(run: _Run, migration: Migration) -> Readback:
    """Reconnect (bounded), make sure our old session is gone, and read the history row.

    The old backend may still be running the migration (a silent network) or finishing its
    COMMIT: reading before it is gone could report a rollback that then commits. It is our
    own session, so ending it needs no privilege beyond our role.
    """
    for attempt in range(1, RECONNECT_ATTEMPTS + 1):
        try:
            with connect(
                run.dsn,
                purpose="apply (outcome check)",
                connect_timeout=int(CHECK_TIMEOUT_S),
                options={"statement_timeout": format_ms(int(CHECK_TIMEOUT_S * 1000))},
                guarded=False,
            ) as check:
                watchdog = Watchdog(check)
                try:
                    with watchdog.guard(CHECK_TIMEOUT_S * 4):
                        end_old_session(check, run.backend_pid, run.application_name)
                        return _outcome_of(run, check, migration)
                finally:
                    watchdog.stop()
        except (GordonError, psycopg.Error) as exc:
            log.warning(
                "cannot read the outcome of the interrupted migration",
                migration=migration.filename,
                attempt=attempt,
                error=run.dsn.scrub(str(exc)),
            )
            if attempt < RECONNECT_ATTEMPTS:
                time.sleep(attempt * 1.0)
    return Readback("unknown")


def end_old_session(conn: Conn, pid: int, application_name: str) -> bool:
    """End the run's own old session (pid, application_name, role and database must all
    match) and wait for it to go; True when such a session was found."""
    params = {"pid": pid, "app": application_name, "wait_ms": int(CHECK_TIMEOUT_S * 1000)}
    try:
        rows = conn.execute(_END_OLD_SESSION, params).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        # Not allowed to end it (another role): wait for the server's own timeouts instead.
        deadline = time.monotonic() + 3 * CHECK_TIMEOUT_S
        while time.monotonic() < deadline:
            row = conn.execute(_OLD_SESSION_GONE, params).fetchone()
            if row and row[0]:
                return True
            time.sleep(0.2)
        return True
    return bool(rows)


def _apply(run: _Run, bundle: Sequence[Migration]) -> ApplyResult:
    conn = run.conn
    with run.guard():
        status = read_status(conn, bundle)
    run.observer.status_read(status)
    check_server(status)
    result = ApplyResult(
        database=status.database,
        server_version=status.server_version,
        dry_run=False,
        already_applied=status.count("applied"),
    )
    if status.consistent and not status.pending:
        log.info("database is up to date", database=status.database, applied=result.already_applied)
        return result
    # Header directives are checked before any lock: a typo fails fast and names the file.
    by_version = {m.version: m for m in bundle}
    for pending_status in status.pending:
        _settings_for(by_version[pending_status.version], run.opts)
    check_writable(status)
    with run.guard():
        check_privileges(conn, status)
        check_encoding(conn, status.database, [by_version[s.version] for s in status.pending])
    if status.pending:
        from gordon_migrate.lint import refuse_hazards  # pglast: paid only when there is work

        waiting = {s.version for s in status.pending}
        with run.guard():
            refuse_hazards([m for m in bundle if m.version in waiting], bundle, conn)
    key = locks.lock_key(status.database)
    run.progress("lock_wait", None, f"advisory lock {key}")
    run.observer.lock_waiting()
    try:
        result.lock_waited_s = locks.acquire(
            conn, key, run.opts.lock_wait_s, guard=run.guard, sleep=run.cancel.sleep
        )
        run.observer.lock_acquired(result.lock_waited_s)
    except locks.LockTimeout as exc:
        raise LockWaitError(
            f"{exc.describe(status.database, key)}. Another runner is migrating, or a crashed "
            "one left its session open: wait and re-run, or end it with `gordon-migrate unlock` "
            "(docs/spof-runbook.md, lock held)",
            blocker=exc.holder.pid if exc.holder else None,
        ) from None

    try:
        return _apply_locked(run, bundle, result)
    finally:
        _release(run, key)


def _release(run: _Run, key: int) -> None:
    """Give the migration lock back before the connection closes: the backend's own exit is
    asynchronous, and the next runner (or `status`) must not see a finished run still holding
    it. Best effort: a dead connection released it with its session."""
    conn = run.conn
    if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        with run.guard(int(CHECK_TIMEOUT_S * 1000)):
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    except psycopg.Error as exc:
        log.debug("migration lock not released explicitly", error=run.dsn.scrub(str(exc)))


# A write the server must log: a commit that wrote no WAL of its own (one that only took an
# xid) is asynchronous whatever synchronous_commit says, and would flush nothing. Rewriting
# the last history row in place changes none of its values.
_FLUSH = f"""
UPDATE {HISTORY_TABLE} SET success = success
WHERE version = (SELECT max(version) FROM {HISTORY_TABLE})
"""


def _make_durable(run: _Run, result: ApplyResult | None = None) -> None:
    """Wait until every migration of the run is on disk (and on synchronous standbys).

    The migrations commit with synchronous_commit off: each commit then skips its own WAL
    flush, which was half of a fresh apply's time on a durable disk (38 fsyncs) and is a
    network round trip per migration with synchronous replicas. Consistency is unaffected: WAL
    is replayed in order, so a crash can only lose a suffix of the run, each migration together
    with its history row, and the next apply runs them again. Durability is restored before
    apply reports success: this transaction writes WAL, so its commit, under the server's own
    synchronous_commit, flushes (and replicates) all WAL before it, the whole run included.

    A synchronous standby that is gone would hold that commit (and the migration lock) for
    ever: ``_StandbyWatch`` cancels the wait after ``standby_wait_s``; the commit is then
    local only, and a ``SyncStandbyError`` says so.
    """
    watch = _StandbyWatch(run)
    try:
        with run.guard():
            run.conn.execute("RESET synchronous_commit")
            with run.conn.transaction():
                run.conn.execute(_FLUSH)
    finally:
        watch.stop()
    if watch.cancelled_wait:
        raise _standby_error(run, result)


def _flush_before_failing(run: _Run) -> None:
    """Best effort, on the way out of a failed run: make what it committed durable."""
    if not run.committed or run.conn.closed:
        return
    try:
        _make_durable(run)
    except (psycopg.Error, GordonError) as exc:
        log.warning(
            "could not flush the run's earlier migrations to disk",
            error=run.dsn.scrub(str(exc)),
        )


_SYNC_NAMES = "SELECT current_setting('synchronous_standby_names')"


def _standby_error(run: _Run, result: ApplyResult | None) -> SyncStandbyError:
    names = "?"
    last = "?"
    try:
        with run.guard(int(CHECK_TIMEOUT_S * 1000)):
            row = run.conn.execute(_SYNC_NAMES).fetchone()
            names = str(row[0]) if row else "?"
            top = run.conn.execute(f"SELECT max(version) FROM {HISTORY_TABLE}").fetchone()
            last = f"{int(top[0]):04d}" if top and top[0] is not None else "none"
    except psycopg.Error as exc:
        log.debug("cannot read back after the standby wait", error=run.dsn.scrub(str(exc)))
    applied = len(result.applied) if result is not None else len(run.committed)
    return SyncStandbyError(
        f"the commit of this run waited more than {run.opts.standby_wait_s:g}s for a "
        f"synchronous standby (synchronous_standby_names = {names!r}) and none confirmed it; "
        "apply cancelled the wait, so no lock stays held. The primary kept the commit: "
        f"{applied} migration(s) of this run are applied there (the history ends at {last}), "
        "but no standby confirmed them, and a failover now could lose them. Bring the "
        "standby back (or correct synchronous_standby_names), check `gordon-migrate status` "
        "on the primary and re-run apply, which then has nothing to do "
        "(docs/spof-runbook.md, FM-32)"
    )


class _StandbyWatch:
    """While the run's final commit runs: if its backend waits for synchronous replication
    (wait_event SyncRep) longer than ``standby_wait_s``, cancel that wait. The server then
    ends the commit with a warning, committed locally; nothing is left holding a lock."""

    FIRST_S = 0.5
    EVERY_S = 0.25

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._done = threading.Event()
        self.cancelled_wait = False
        self._thread = threading.Thread(target=self._watch, name="gordon-standby", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=CHECK_TIMEOUT_S)

    def _watch(self) -> None:
        # A commit answered within FIRST_S costs nothing here: no connection is opened.
        if self._done.wait(self.FIRST_S):
            return
        run = self._run
        try:
            with connect(
                run.dsn,
                purpose="apply (standby watch)",
                connect_timeout=int(CHECK_TIMEOUT_S),
                guarded=False,
            ) as conn:
                waiting_since: float | None = None
                while not self._done.is_set():
                    row = conn.execute(
                        "SELECT wait_event FROM pg_stat_activity WHERE pid = %s",
                        (run.backend_pid,),
                    ).fetchone()
                    if row is not None and row[0] == "SyncRep":
                        waiting_since = waiting_since or time.monotonic()
                        if time.monotonic() - waiting_since >= run.opts.standby_wait_s:
                            self.cancelled_wait = True
                            log.warning(
                                "the commit waits for a synchronous standby; cancelling the wait",
                                waited_s=run.opts.standby_wait_s,
                            )
                            run.conn.cancel_safe(timeout=CHECK_TIMEOUT_S)
                            return
                    else:
                        waiting_since = None
                    self._done.wait(self.EVERY_S)
        except (GordonError, psycopg.Error) as exc:
            log.debug("standby watch stopped", error=run.dsn.scrub(str(exc)))


def _apply_locked(run: _Run, bundle: Sequence[Migration], result: ApplyResult) -> ApplyResult:
    conn = run.conn
    by_version = {m.version: m for m in bundle}
    # Under the lock the history is the truth, and every refusal is decided on it: a dirty
    # row read without the lock may be another runner's no-transaction migration in progress,
    # and that runner may just have finished everything.
    with run.guard():
        status = read_status(conn, bundle)
    notes: dict[int, str] = {}
    if status.problems:
        from gordon_migrate.apply import leftovers  # pglast: paid only on a dirty history

        with run.guard():
            resume = leftovers.plan_resume(conn, status, bundle)
        notes = resume.notes
        if resume.resumable:
            for found in resume.resumable:
                _resume(run, found, status)
            with run.guard():
                status = read_status(conn, bundle)
    run.observer.status_read(status)
    check_history(status, notes)
    if not status.pending:
        result.already_applied = status.count("applied")
        log.info("database is up to date", database=status.database, applied=result.already_applied)
        return result
    # One WAL flush for the run instead of one per migration (see _make_durable); set before
    # the history table is created, whose commit would otherwise wait for standbys alone.
    with run.guard():
        conn.execute("SET synchronous_commit = off")
    if not status.history_exists:
        with run.guard():
            conn.execute(history.CREATE_HISTORY)
    result.already_applied = status.count("applied")
    pending = [by_version[s.version] for s in status.pending]
    directives = {m.version: _settings_for(m, run.opts) for m in pending}
    highest = max((s.version for s in status.migrations if s.state == "applied"), default=0)
    for migration in pending:
        if migration.version < highest:
            log.warning(
                "applying a migration older than the newest applied one",
                migration=migration.filename,
                newest_applied=highest,
            )
        run.in_flight = migration
        try:
            try:
                result.applied.append(_run_one(run, migration, directives[migration.version]))
            except psycopg.Error as exc:
                _stop_if_cancelled(run, exc)
                raise
        except MigrationError:
            # The words "earlier migrations stay applied" must hold even if the server
            # crashes next: what this run committed reaches the disk before we say so.
            _flush_before_failing(run)
            raise
        except Interrupted as stop:
            raise InterruptedApplyError(
                f"interrupted by {stop.signal_name} while applying migration "
                f"{migration.label}; the running statement was cancelled on the server: "
                f"{run.outcome_text(fresh=False)}",
                version=migration.version,
                file=migration.filename,
            ) from None
        except psycopg.Error as exc:
            if is_connection_lost(exc):
                raise run.lost(exc, f"applying migration {migration.label}") from None
            raise
        run.committed.append(migration.version)
        run.in_flight = None
    try:
        _make_durable(run, result)
    except psycopg.Error as exc:
        if is_connection_lost(exc):
            raise run.lost(exc, "flushing the applied migrations to disk") from None
        raise
    log.info(
        "apply complete",
        database=status.database,
        applied=len(result.applied),
        already_applied=result.already_applied,
    )
    return result


_FORGET_DIRTY_ROW = f"""
DELETE FROM {HISTORY_TABLE} WHERE version = %s AND NOT success AND checksum = %s
"""


def _resume(run: _Run, found: Leftovers, status: DatabaseStatus) -> None:
    """Undo what a dirty no-transaction migration of this bundle left (its own INVALID
    indexes, ``leftovers.plan_resume``) and forget its dirty row, so that it runs again as
    pending: logged, and audited in gordon_migrate_audit with the row as it was."""
    from gordon_migrate.core import audit

    migration = found.migration
    row = status.history[migration.version]
    log.warning(
        "resuming a dirty no-transaction migration of this bundle",
        migration=migration.filename,
        dropping=list(found.drops),
    )
    conn = run.conn
    settings = _settings_for(migration, run.opts)
    for name in found.drops:
        # DROP INDEX CONCURRENTLY waits for the transactions using the table, blocking
        # nobody: like the migration's own CONCURRENTLY statements it runs without
        # lock_timeout, bounded by statement_timeout, its waits logged.
        drop = Statement(text=f"DROP INDEX CONCURRENTLY IF EXISTS {name}", start=0)
        try:
            _execute_patiently(run, migration, drop, settings)
        except _StatementFailed as failed:
            if is_connection_lost(failed.error):
                raise failed.error from None
            raise MigrationError(
                f"migration {migration.label} is dirty and apply could not resume it: "
                f"dropping the INVALID index {name} it left failed: SQLSTATE "
                f"{failed.error.sqlstate or '?'}: {run.dsn.scrub(str(failed.error)).strip()}; "
                "nothing else was changed, its history row stays dirty. Re-run apply once "
                "the sessions it waited for are gone (docs/spof-runbook.md, FM-31)",
                version=migration.version,
                file=migration.filename,
                sqlstate=failed.error.sqlstate,
                relation=name,
                failure_mode="FM-31",
            ) from None
    with run.guard():
        audit.ensure_table(conn)
        with conn.transaction():
            conn.execute(_FORGET_DIRTY_ROW, (migration.version, migration.checksum))
            dropped = ", ".join(found.drops) or "nothing to undo"
            audit.record(
                conn,
                "resume",
                version=migration.version,
                reason=f"apply resumed the dirty no-transaction migration (dropped: {dropped})",
                before=history.row_json(row),
                after=None,
            )


@dataclass(frozen=True)
class MigrationSettings:
    """The timeouts one migration runs under: the run's, or its header's overrides."""

    lock_timeout_ms: int
    statement_timeout_ms: int
    lock_retry_window_ms: int
    overridden: bool


_DIRECTIVE = re.compile(r"^--\s*gordon:([a-z-]+)\s*[=\s]\s*(\S+)\s*$")
_DIRECTIVE_LEAD = re.compile(r"^--\s*gordon:")
_WAIVER = re.compile(r"^--\s*gordon:allow\b")
_DIRECTIVE_OPTIONS = {
    "lock-timeout": "lock_timeout_ms",
    "statement-timeout": "statement_timeout_ms",
    "lock-retry-window": "lock_retry_window_ms",
}


def _settings_for(migration: Migration, opts: ApplyOptions) -> MigrationSettings:
    """Header comments like ``-- gordon:lock-timeout 2s`` override the run's timeouts for one
    migration (the leading comment lines only; unknown ``gordon:`` names are refused)."""
    values = {
        "lock_timeout_ms": opts.lock_timeout_ms,
        "statement_timeout_ms": opts.statement_timeout_ms,
        "lock_retry_window_ms": opts.lock_retry_window_ms,
    }
    overridden = False
    for line in migration.sql.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        if not _DIRECTIVE_LEAD.match(stripped) or _WAIVER.match(stripped):
            continue  # a plain comment, or a lint waiver
        match = _DIRECTIVE.match(stripped)
        field_name = _DIRECTIVE_OPTIONS.get(match[1]) if match else None
        if match is None or field_name is None:
            known = ", ".join(f"gordon:{name}" for name in _DIRECTIVE_OPTIONS)
            raise BundleError(
                f"migration {migration.label}: cannot read the header directive "
                f"{stripped!r}; known: {known}, each followed by a duration "
                "(e.g. `-- gordon:lock-timeout 2s`). Nothing was run"
            )
        values[field_name] = parse_ms(match[2], f"{migration.filename}: gordon:{match[1]}")
        overridden = True
    return MigrationSettings(overridden=overridden, **values)


_INSERT_ROW = f"""
INSERT INTO {HISTORY_TABLE} (version, description, success, checksum, execution_time)
VALUES (%s, %s, %s, %s, %s)
"""
_MARK_SUCCESS = f"""
UPDATE {HISTORY_TABLE} SET success = TRUE, execution_time = %s WHERE version = %s
"""


def _run_one(run: _Run, migration: Migration, settings: MigrationSettings) -> AppliedStep:
    statements = split(migration.sql)
    run.statements_done, run.statements_total = 0, len(statements)
    run.in_flight_statements = statements
    if settings.overridden:
        log.info(
            "migration header overrides the timeouts",
            migration=migration.filename,
            lock_timeout=format_ms(settings.lock_timeout_ms),
            statement_timeout=format_ms(settings.statement_timeout_ms),
            lock_retry_window=format_ms(settings.lock_retry_window_ms),
        )
    run.progress("start", migration, "attempt 1")
    run.observer.migration_started(migration, statements)
    log.info("applying migration", migration=migration.filename)
    if migration.no_transaction:
        elapsed, attempts = _run_outside_transaction(run, migration, statements, settings)
    else:
        elapsed, attempts = _run_in_transaction(run, migration, statements, settings)
    run.progress("done", migration, f"{elapsed / 1e6:.1f} ms")
    run.observer.migration_finished(migration, elapsed, attempts)
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


class _LockRetries:
    """GitLab-style lock retries: every attempt waits at most lock_timeout for its locks (so a
    queued DDL lock stalls other sessions' queries that long at most), then steps back for a
    jittered, growing pause and tries again, until the retry window is spent."""

    def __init__(self, run: _Run, migration: Migration, settings: MigrationSettings) -> None:
        self.run = run
        self.migration = migration
        self.settings = settings
        self.started = time.monotonic()
        self.attempts = 0
        self.blockers: list[Holder] = []

    def next_pause(self, failed: _StatementFailed) -> float | None:
        """After a lock timeout: log who blocked, and the pause before the next attempt, or
        None when the window is spent."""
        self.blockers = _blockers_of(self.run.conn, failed.statement)
        self.run.observer.lock_timed_out(
            self.migration, failed.statement, self.attempts, self.blockers
        )
        pause = _pause(self.attempts)
        window_s = self.settings.lock_retry_window_ms / 1000.0
        if time.monotonic() - self.started + pause > window_s:
            return None
        log.warning(
            "lock_timeout: the migration could not get its lock; rolled back, retrying",
            migration=self.migration.filename,
            line=failed.line(self.migration.sql),
            attempt=self.attempts,
            lock_timeout=format_ms(self.settings.lock_timeout_ms),
            retry_in_s=round(pause, 3),
            window_left_s=round(window_s - (time.monotonic() - self.started), 1),
            blockers=[b.fields() for b in self.blockers],
        )
        who = f" by pid {self.blockers[0].pid}" if self.blockers else ""
        self.run.progress(
            "retry",
            self.migration,
            f"attempt {self.attempts} blocked{who}; retry in {pause:.1f}s",
        )
        return pause

    def failure(self, failed: _StatementFailed) -> MigrationError:
        migration, settings = self.migration, self.settings
        spent = time.monotonic() - self.started
        if self.blockers:
            who = "blocked by " + "; ".join(b.describe() for b in self.blockers[:3])
        else:
            who = "the sessions that held the conflicting lock have since gone"
        undone = (
            "this statement did not run; earlier statements of this no-transaction migration "
            "took effect and its history row is dirty: re-run apply once the blocker is gone, "
            f"or see `gordon-migrate repair {migration.version}`"
            if migration.no_transaction
            else "it was rolled back (nothing of it applied); earlier migrations stay applied"
        )
        return MigrationError(
            f"migration {migration.label} line {failed.line(migration.sql)} could not get its "
            f"table lock: {self.attempts} attempt(s) of lock_timeout="
            f"{format_ms(settings.lock_timeout_ms)} over {spent:.0f}s (lock retry window "
            f"{format_ms(settings.lock_retry_window_ms)}) all waited behind another session, "
            f"{who}; {undone}; have that session finish or end it "
            "(`gordon-migrate unlock --pid PID`), or re-run with a longer --lock-retry-window "
            "(docs/spof-runbook.md, FM-17)",
            version=migration.version,
            file=migration.filename,
            line=failed.line(migration.sql),
            sqlstate=failed.error.sqlstate,
            relation=self.blockers[0].relation if self.blockers else None,
            blocker=self.blockers[0].pid if self.blockers else None,
            failure_mode="FM-17",
        )


def _pause(attempt: int) -> float:
    """Growing pauses (50 ms doubling to 10 s) with jitter, so retrying runners spread out and
    queued queries drain between attempts."""
    base = min(FIRST_PAUSE_S * 2.0 ** (attempt - 1), MAX_PAUSE_S)
    return base * _JITTER.uniform(0.5, 1.5)


def _blockers_of(conn: Conn, statement: Statement) -> list[Holder]:
    """Who holds locks on the relations the timed-out statement names (best effort: the
    statement's own lock request is gone by now, so pg_blocking_pids cannot be asked)."""
    from gordon_migrate.sql.statement import inspect

    try:
        return relation_holders(conn, list(inspect(statement.text).relations))
    except psycopg.Error as exc:
        if is_connection_lost(exc):
            raise
        return []


def _run_in_transaction(
    run: _Run, migration: Migration, statements: Sequence[Statement], settings: MigrationSettings
) -> tuple[int, int]:
    """Run the whole migration and its history row in one transaction, retried whole on a
    lock timeout; return (nanoseconds, attempts)."""
    retries = _LockRetries(run, migration, settings)
    while True:
        retries.attempts += 1
        try:
            return _one_transaction(run, migration, statements, settings), retries.attempts
        except _StatementFailed as failed:
            _stop_if_cancelled(run, failed.error)
            if is_connection_lost(failed.error):
                raise failed.error from None
            if failed.error.sqlstate != LOCK_NOT_AVAILABLE:
                raise _migration_error(run.dsn, migration, failed, settings) from None
            with run.guard():
                pause = retries.next_pause(failed)
            if pause is None:
                raise retries.failure(failed) from None
            run.cancel.sleep(pause)


def _one_transaction(
    run: _Run, migration: Migration, statements: Sequence[Statement], settings: MigrationSettings
) -> int:
    conn = run.conn
    try:
        with conn.transaction():
            if settings.overridden:
                _set_timeouts(run, settings, local=True)
            start = time.perf_counter_ns()
            _execute_all(run, statements, settings)
            elapsed = time.perf_counter_ns() - start
            with run.guard(settings.statement_timeout_ms):
                conn.execute(
                    _INSERT_ROW,
                    (migration.version, migration.description, True, migration.checksum, elapsed),
                )
    except psycopg.Error as exc:
        # The history insert itself (or COMMIT) failed: report it at the end of the file.
        raise _StatementFailed(Statement(text="", start=len(migration.sql)), exc) from exc
    return elapsed


def _set_timeouts(run: _Run, settings: MigrationSettings, *, local: bool) -> None:
    scope = "LOCAL " if local else ""
    with run.guard():
        run.conn.execute(
            f"SET {scope}lock_timeout = '{format_ms(settings.lock_timeout_ms)}'; "
            f"SET {scope}statement_timeout = '{format_ms(settings.statement_timeout_ms)}'"
        )


def _execute_all(run: _Run, statements: Sequence[Statement], settings: MigrationSettings) -> None:
    for statement in statements:
        _execute(run, statement, settings)
        run.statements_done += 1


def _stop_if_cancelled(run: _Run, exc: BaseException) -> None:
    """Our own cancel request (CancelToken) is an interrupt, not a statement_timeout."""
    if isinstance(exc, psycopg.errors.QueryCanceled) and run.cancel.cancelled:
        raise Interrupted(CANCELLED_BY_OPERATOR) from None


def _execute(run: _Run, statement: Statement, settings: MigrationSettings) -> None:
    run.cancel.check()
    run.observer.statement_started(statement)
    try:
        with run.guard(settings.statement_timeout_ms):
            run.conn.execute(statement.text.encode("utf-8"))
    except psycopg.Error as exc:
        run.observer.statement_finished(statement, exc)
        _stop_if_cancelled(run, exc)
        raise _StatementFailed(statement, exc) from exc
    run.observer.statement_finished(statement, None)


def _run_outside_transaction(
    run: _Run, migration: Migration, statements: Sequence[Statement], settings: MigrationSettings
) -> tuple[int, int]:
    """Dirty row first, statements one by one in autocommit, then mark the row clean.

    A statement that times out on a lock had no effect (it is its own transaction), so it
    alone is retried. Statements that take only SHARE UPDATE EXCLUSIVE (CONCURRENTLY) run
    without lock_timeout: they block nobody, and cutting their wait for old snapshots short
    would leave an INVALID index behind.
    """
    from gordon_migrate.sql.statement import inspect

    conn = run.conn
    with run.guard():
        conn.execute(
            _INSERT_ROW, (migration.version, migration.description, False, migration.checksum, -1)
        )
        if settings.overridden:
            _set_timeouts(run, settings, local=False)
    attempts = 1
    start = time.perf_counter_ns()
    for statement in statements:
        info = inspect(statement.text)
        retries = _LockRetries(run, migration, settings)
        while True:
            retries.attempts += 1
            try:
                if info.share_update_exclusive_only:
                    _execute_patiently(run, migration, statement, settings)
                else:
                    _execute(run, statement, settings)
                break
            except _StatementFailed as failed:
                _stop_if_cancelled(run, failed.error)
                if is_connection_lost(failed.error):
                    raise failed.error from None
                if failed.error.sqlstate == LOCK_NOT_AVAILABLE:
                    with run.guard():
                        pause = retries.next_pause(failed)
                    if pause is not None:
                        run.cancel.sleep(pause)
                        continue
                    raise retries.failure(failed) from None
                raise _migration_error(
                    run.dsn, migration, failed, settings, _invalid_index(run, info)
                ) from None
        attempts = max(attempts, retries.attempts)
        run.statements_done += 1
    elapsed = time.perf_counter_ns() - start
    with run.guard():
        if settings.overridden:
            _set_timeouts(run, _run_defaults(run.opts), local=False)
        conn.execute(_MARK_SUCCESS, (elapsed, migration.version))
    return elapsed, attempts


def _run_defaults(opts: ApplyOptions) -> MigrationSettings:
    return MigrationSettings(
        lock_timeout_ms=opts.lock_timeout_ms,
        statement_timeout_ms=opts.statement_timeout_ms,
        lock_retry_window_ms=opts.lock_retry_window_ms,
        overridden=False,
    )


def _execute_patiently(
    run: _Run, migration: Migration, statement: Statement, settings: MigrationSettings
) -> None:
    """A SHARE UPDATE EXCLUSIVE statement: no lock_timeout, and what it waits for is logged."""
    with run.guard():
        run.conn.execute("SET lock_timeout = 0")
    reporter = _WaitReporter(run.dsn, run.backend_pid, migration.filename)
    try:
        _execute(run, statement, settings)
    finally:
        reporter.stop()
    with run.guard():
        run.conn.execute(f"SET lock_timeout = '{format_ms(settings.lock_timeout_ms)}'")


class _WaitReporter:
    """Logs, from a second connection, whom a long CONCURRENTLY statement waits for (old
    snapshots, autovacuum): without it the deploy looks hung for as long as they last."""

    FIRST_S = 2.0
    EVERY_S = 10.0

    def __init__(self, dsn: Dsn, pid: int, filename: str) -> None:
        self._dsn, self._pid, self._filename = dsn, pid, filename
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gordon-wait-report", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=CHECK_TIMEOUT_S)

    def _run(self) -> None:
        if self._done.wait(self.FIRST_S):
            return
        try:
            with connect(
                self._dsn,
                purpose="apply (wait report)",
                connect_timeout=int(CHECK_TIMEOUT_S),
                guarded=False,
            ) as conn:
                while True:
                    waits_for = waited_for(conn, self._pid)
                    if waits_for:
                        log.warning(
                            "a CONCURRENTLY statement is waiting (it blocks no reader or writer; "
                            "statement_timeout bounds it)",
                            migration=self._filename,
                            waiting_for=[b.fields() for b in waits_for],
                        )
                    if self._done.wait(self.EVERY_S):
                        return
        except (GordonError, psycopg.Error) as exc:
            log.debug("wait report stopped", error=self._dsn.scrub(str(exc)))


_INVALID_INDEX = """
SELECT n.nspname || '.' || c.relname
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND c.oid = to_regclass(%s)
"""


def _invalid_index(run: _Run, info: StatementInfo) -> str | None:
    """The INVALID index a failed CREATE INDEX CONCURRENTLY left behind, if it did."""
    if info.concurrent_index is None:
        return None
    try:
        with run.guard():
            row = run.conn.execute(_INVALID_INDEX, (info.concurrent_index,)).fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


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


def _migration_error(
    dsn: Dsn,
    migration: Migration,
    failed: _StatementFailed,
    settings: MigrationSettings,
    invalid_index: str | None = None,
) -> MigrationError:
    exc = failed.error
    state = exc.sqlstate or "?????"
    primary = one_line(dsn.scrub(exc.diag.message_primary or str(exc)))
    where = f"{migration.label} line {failed.line(migration.sql)}"
    if invalid_index is not None:
        undone = (
            f"it ran outside a transaction and left the INVALID index {invalid_index} behind "
            "(its history row is dirty): once the cause is gone, re-run apply, which drops "
            "that index concurrently and builds it again by itself (by hand instead: "
            f"`DROP INDEX CONCURRENTLY IF EXISTS {invalid_index};`, then "
            f"`gordon-migrate repair {migration.version} --undone`; docs/spof-runbook.md, FM-31)"
        )
    elif migration.no_transaction:
        undone = (
            "it ran outside a transaction: earlier statements of it may have taken effect and "
            "its history row is dirty; finish or undo by hand, then "
            f"`gordon-migrate repair {migration.version}`"
        )
    else:
        undone = "it was rolled back (nothing of it applied); earlier migrations stay applied"
    mode = _failure_mode(state, invalid_index)
    if state == QUERY_CANCELED and _by_another_session(exc):
        lead = (
            f"migration {where} was cancelled by another session (pg_cancel_backend or a "
            f"cancel request; the server does not say which pid) (SQLSTATE {state}: {primary})"
        )
        advice = (
            "find out who cancels the migration's session (an operator, a watchdog job "
            "killing long queries) and re-run apply when that has stopped"
        )
        mode = "FM-30" if invalid_index is None else mode
    elif state == QUERY_CANCELED:
        lead = (
            f"migration {where} was cancelled by statement_timeout="
            f"{format_ms(settings.statement_timeout_ms)} (SQLSTATE {state}: {primary})"
        )
        advice = (
            "raise --statement-timeout (or the migration's `-- gordon:statement-timeout`) if "
            "this is expected, or make the migration cheaper"
        )
    elif state == DISK_FULL:
        lead = (
            f"migration {where} failed: the database's disk is full (SQLSTATE {state}: {primary})"
        )
        advice = (
            "free or grow the volume (a rewrite needs about the table's size again), "
            "then re-run apply"
        )
    elif state == READ_ONLY_TRANSACTION:
        lead = (
            f"migration {where} failed: the database refuses writes (SQLSTATE {state}: {primary})"
        )
        advice = (
            "point DATABASE_URL at the writable primary; a standby or a database with "
            "default_transaction_read_only cannot be migrated"
        )
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
    return MigrationError(
        f"{lead}; {undone}; {advice}",
        version=migration.version,
        file=migration.filename,
        line=failed.line(migration.sql),
        sqlstate=exc.sqlstate,
        relation=invalid_index,
        failure_mode=mode,
    )


def _by_another_session(exc: psycopg.Error) -> bool:
    """A cancel the server names as a user request (pg_cancel_backend, a client's cancel
    request), not its statement_timeout: our own cancels end as ``Interrupted`` before this.
    Read from the message's English text: a translated server (lc_messages) reads as
    statement_timeout, the old default."""
    return "user request" in (exc.diag.message_primary or "")


def _failure_mode(sqlstate: str, invalid_index: str | None) -> str:
    """The runbook's failure mode of a migration's SQL error."""
    if invalid_index is not None:
        return "FM-31"
    return _MODE_OF_SQLSTATE.get(sqlstate, "FM-19")


# The runbook's failure modes of a migration that failed on the server, by SQLSTATE; FM-19 (an
# SQL error in the migration) for every other state.
_MODE_OF_SQLSTATE = {
    QUERY_CANCELED: "FM-18",
    INSUFFICIENT_PRIVILEGE: "FM-12",
    DISK_FULL: "FM-25",
    READ_ONLY_TRANSACTION: "FM-11",
}
