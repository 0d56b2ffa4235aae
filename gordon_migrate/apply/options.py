"""What a run and each migration run under: the timeouts (the run's defaults, a migration
header's overrides) and the session settings that keep a vanished client from holding locks.
"""

from __future__ import annotations

from dataclasses import dataclass

from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.durations import format_ms

# Defaults chosen for a deploy gate on a live trading database (README: "Timeouts"):
# a DDL lock request that queues behind a long transaction blocks every query that arrives
# after it, so each attempt waits for its locks at most lock_timeout (the stall any other
# query can see), and attempts repeat with growing pauses over a window of minutes, long
# enough to ride out an ordinary report (GitLab's with_lock_retries is the model).
DEFAULT_LOCK_WAIT_S = 300.0
DEFAULT_LOCK_TIMEOUT_MS = 100
DEFAULT_LOCK_RETRY_WINDOW_MS = 10 * 60_000
DEFAULT_STATEMENT_TIMEOUT_MS = 15 * 60_000

# diagnose's threshold for "a transaction has held a lock on a Gordon table too long": an age
# that matters to people, not the migration's per-attempt lock_timeout.
DEFAULT_BLOCKER_AGE_MS = 5_000

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


# How long the run's final commit may wait for a synchronous standby before apply stops
# waiting (a standby that is gone would hold it, and the migration lock, forever).
DEFAULT_STANDBY_WAIT_S = 30.0

# A blocking lock (SHARE or stronger) predicted to be held longer than this stops apply: a
# second of stalled writes (or reads) is what a Gordon service rides out without an alert.
DEFAULT_LOCK_HOLD_BUDGET_MS = 1000


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
    lock_hold_budget_ms: int = DEFAULT_LOCK_HOLD_BUDGET_MS
    """The longest predicted hold of a blocking lock apply accepts (README "Lock-hold
    budget"); a migration's ``-- gordon:lock-hold-budget`` overrides it."""

    def session_settings(self) -> dict[str, str]:
        return {
            "lock_timeout": format_ms(self.lock_timeout_ms),
            "statement_timeout": format_ms(self.statement_timeout_ms),
            **SESSION_SAFETY,
        }


@dataclass(frozen=True)
class MigrationSettings:
    """The timeouts one migration runs under: the run's, or its header's overrides."""

    lock_timeout_ms: int
    statement_timeout_ms: int
    lock_retry_window_ms: int
    overridden: bool


def settings_for(migration: Migration, opts: ApplyOptions) -> MigrationSettings:
    """The run's timeouts, overridden for one migration by its header's directives
    (``-- gordon:lock-timeout 2s``, ``Migration.directives``: raises when one cannot be read)."""
    header = migration.directives
    return MigrationSettings(
        lock_timeout_ms=header.get("lock-timeout", opts.lock_timeout_ms),
        statement_timeout_ms=header.get("statement-timeout", opts.statement_timeout_ms),
        lock_retry_window_ms=header.get("lock-retry-window", opts.lock_retry_window_ms),
        overridden=bool(header),
    )


def run_defaults(opts: ApplyOptions) -> MigrationSettings:
    return MigrationSettings(
        lock_timeout_ms=opts.lock_timeout_ms,
        statement_timeout_ms=opts.statement_timeout_ms,
        lock_retry_window_ms=opts.lock_retry_window_ms,
        overridden=False,
    )
