"""GitLab-style lock retries (short lock_timeout, growing jittered pauses over a window), who
blocked each attempt, and the report of what a long CONCURRENTLY statement waits for.
"""

from __future__ import annotations

import secrets
import threading
import time

import structlog

from gordon_migrate.apply.failures import StatementFailed
from gordon_migrate.apply.options import MigrationSettings
from gordon_migrate.apply.state import CHECK_TIMEOUT_S, Run
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, connect, mapped
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.durations import format_ms
from gordon_migrate.core.errors import GordonError, MigrationError, ServerError
from gordon_migrate.core.sessions import Holder, relation_holders, waited_for
from gordon_migrate.sql.split import Statement

log = structlog.get_logger("gordon_migrate.engine")  # one logger for apply's run

FIRST_PAUSE_S = 0.05
MAX_PAUSE_S = 10.0
_JITTER = secrets.SystemRandom()


class LockRetries:
    """GitLab-style lock retries: every attempt waits at most lock_timeout for its locks (so a
    queued DDL lock stalls other sessions' queries that long at most), then steps back for a
    jittered, growing pause and tries again, until the retry window is spent."""

    def __init__(self, run: Run, migration: Migration, settings: MigrationSettings) -> None:
        self.run = run
        self.migration = migration
        self.settings = settings
        self.started = time.monotonic()
        self.attempts = 0
        self.blockers: list[Holder] = []

    def next_pause(self, failed: StatementFailed) -> float | None:
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

    def failure(self, failed: StatementFailed) -> MigrationError:
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
        with mapped():
            return relation_holders(conn, list(inspect(statement.text).relations))
    except ServerError as exc:
        if exc.lost:
            raise
        return []


class WaitReporter:
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
            with (
                mapped(),
                connect(
                    self._dsn,
                    purpose="apply (wait report)",
                    connect_timeout=int(CHECK_TIMEOUT_S),
                    guarded=False,
                ) as conn,
            ):
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
        except (GordonError, ServerError) as exc:
            log.debug("wait report stopped", error=self._dsn.scrub(str(exc)))
