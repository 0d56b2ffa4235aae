"""One apply invocation's state (its connection, knobs, what is in flight) and the operator's
cancel, shared by the engine, its retries, its outcome check and its final flush.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal

import structlog

from gordon_migrate.apply.events import NO_OBSERVER, Observer
from gordon_migrate.apply.interrupts import Interrupted
from gordon_migrate.apply.options import ApplyOptions
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, Watchdog, mapped
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.errors import QUERY_CANCELED, ServerError
from gordon_migrate.sql.split import Statement

log = structlog.get_logger("gordon_migrate.engine")  # one logger for apply's run

# When the server stops answering (a partition, a black-holed proxy), the client gives up
# after statement_timeout plus this margin: the server would have cancelled the statement
# by then, so a reply that still has not come will not come.
WATCHDOG_MARGIN_S = 5.0

# Bounds of the outcome check after a lost connection (connect, end the old session, read).
CHECK_TIMEOUT_S = 5.0
RECONNECT_ATTEMPTS = 2

Event = Literal["lock_wait", "start", "retry", "done"]

Progress = Callable[[Event, Migration | None, str], None]


def no_progress(event: Event, migration: Migration | None, detail: str) -> None:
    """Default progress sink: the engine logs anyway."""


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
                with mapped():
                    conn.cancel_safe(timeout=CHECK_TIMEOUT_S)
            except ServerError as exc:
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


@dataclass
class Run:
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


def stop_if_cancelled(run: Run, exc: BaseException) -> None:
    """Our own cancel request (CancelToken) is an interrupt, not a statement_timeout."""
    if isinstance(exc, ServerError) and exc.sqlstate == QUERY_CANCELED and run.cancel.cancelled:
        raise Interrupted(CANCELLED_BY_OPERATOR) from None
