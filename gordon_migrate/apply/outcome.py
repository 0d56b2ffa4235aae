"""What became of the migration in flight when the run was interrupted or lost its connection:
read back from the server (never assumed), and said in words.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import psycopg
import structlog

from gordon_migrate.apply import history
from gordon_migrate.apply.state import CHECK_TIMEOUT_S, RECONNECT_ATTEMPTS, WATCHDOG_MARGIN_S, Run
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, Watchdog, connect, lost_error, mapped
from gordon_migrate.core.durations import format_ms
from gordon_migrate.core.errors import (
    INSUFFICIENT_PRIVILEGE,
    ConnectionLostError,
    GordonError,
    ServerError,
    ServerSilentError,
)

log = structlog.get_logger("gordon_migrate.engine")  # one logger for apply's run


def versions(versions: Sequence[int]) -> str:
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


_VALID_INDEX = """
SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s)
               AND indisvalid AND indisready)
"""


def _outcome_of(run: Run, conn: Conn, migration: Migration) -> Readback:
    if not history.exists(conn):
        return Readback("not_started" if migration.no_transaction else "rolled_back")
    row = history.outcome_row(conn, migration.version)
    if row.success is None:
        outcome: Outcome = "not_started" if migration.no_transaction else "rolled_back"
        return Readback(outcome, row.last_version)
    if row.success and row.checksum == migration.checksum:
        return Readback("applied", row.last_version)
    return Readback("dirty", row.last_version, _statements_done(run, conn))


def _statements_done(run: Run, conn: Conn) -> int:
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


def read_outcome_here(run: Run, migration: Migration) -> Readback:
    """After an interrupt: psycopg cancelled the statement and the transaction was rolled
    back, so the connection is usually still good; otherwise check from a new one."""
    conn = run.conn
    if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        try:
            with run.guard(int(CHECK_TIMEOUT_S * 1000)), mapped():
                return _outcome_of(run, conn, migration)
        except ServerError:
            pass
    return settle(run, migration)


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


def settle(run: Run, migration: Migration) -> Readback:
    """Reconnect (bounded), make sure our old session is gone, and read the history row.

    The old backend may still be running the migration (a silent network) or finishing its
    COMMIT: reading before it is gone could report a rollback that then commits. It is our
    own session, so ending it needs no privilege beyond our role.
    """
    for attempt in range(1, RECONNECT_ATTEMPTS + 1):
        try:
            with (
                mapped(),
                connect(
                    run.dsn,
                    purpose="apply (outcome check)",
                    connect_timeout=int(CHECK_TIMEOUT_S),
                    options={"statement_timeout": format_ms(int(CHECK_TIMEOUT_S * 1000))},
                    guarded=False,
                ) as check,
            ):
                watchdog = Watchdog(check)
                try:
                    with watchdog.guard(CHECK_TIMEOUT_S * 4):
                        end_old_session(check, run.backend_pid, run.application_name)
                        return _outcome_of(run, check, migration)
                finally:
                    watchdog.stop()
        except (GordonError, ServerError) as exc:
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
        with mapped():
            rows = conn.execute(_END_OLD_SESSION, params).fetchall()
    except ServerError as exc:
        if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
            raise
        # Not allowed to end it (another role): wait for the server's own timeouts instead.
        deadline = time.monotonic() + 3 * CHECK_TIMEOUT_S
        while time.monotonic() < deadline:
            row = conn.execute(_OLD_SESSION_GONE, params).fetchone()
            if row and row[0]:
                return True
            time.sleep(0.2)
        return True
    return bool(rows)


def lost(run: Run, exc: ServerError, doing: str) -> GordonError:
    """The connection died or the server went silent: say so, and what became of the
    migration in flight (read back from the server when it can be reached)."""
    if run.watchdog.fired is not None:
        lead = (
            f"the server of {run.dsn.redacted} stopped answering: no reply for "
            f"{run.watchdog.fired:.0f}s (statement_timeout="
            f"{format_ms(run.opts.statement_timeout_ms)} plus {WATCHDOG_MARGIN_S:.0f}s) "
            f"while {doing}, so apply gave up on the connection"
        )
        error_type: type[GordonError] = ServerSilentError
        mode = "FM-29"
    else:
        lead = str(lost_error(run.dsn, exc, doing))
        error_type = ConnectionLostError
        mode = "FM-20"
    migration = run.in_flight
    if migration is None:
        return error_type(
            f"{lead}; no migration was in flight{committed_text(run)}: re-run apply",
            failure_mode=mode,
        )
    return error_type(
        f"{lead}; {outcome_text(run, fresh=True)}",
        version=migration.version,
        file=migration.filename,
        failure_mode=mode,
    )


def committed_text(run: Run, readback: Readback | None = None) -> str:
    """What became of the migrations this run committed before, as the history says."""
    if not run.committed:
        return ""
    if readback is None or readback.outcome == "unknown":
        return (
            f" (this run committed {versions(run.committed)} before that; "
            "`gordon-migrate status` tells which of them the history kept)"
        )
    last = readback.last_version or 0
    lost = [v for v in run.committed if v > last]
    where = (
        f"the history ends at {last:04d}"
        if readback.last_version is not None
        else "the history holds no migration"
    )
    if not lost:
        return f" ({where}: what this run committed before is kept)"
    return (
        f" ({where}: {versions(lost)}, committed by this run, "
        "did not survive, as the server lost its last commits (a crash: the run commits "
        "without waiting for the disk until its end); the next apply runs them again)"
    )


def outcome_text(run: Run, *, fresh: bool) -> str:
    """What became of the migration in flight, as read from the server (never assumed)."""
    migration = run.in_flight
    assert migration is not None
    readback = settle(run, migration) if fresh else read_outcome_here(run, migration)
    outcome = readback.outcome
    label = migration.label
    earlier = committed_text(run, readback)
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
        done, total = readback.statements_done, run.statements_total
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
