"""The run's one WAL flush at its end (its migrations commit with synchronous_commit off), and
the watch that stops a synchronous standby that is gone from holding that commit for ever.
"""

from __future__ import annotations

import threading
import time

import structlog

from gordon_migrate.apply import history
from gordon_migrate.apply.state import CHECK_TIMEOUT_S, Run
from gordon_migrate.core.db import connect, mapped
from gordon_migrate.core.errors import GordonError, ServerError, SyncStandbyError

log = structlog.get_logger("gordon_migrate.engine")  # one logger for apply's run


def make_durable(run: Run, applied: int | None = None) -> None:
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
                history.flush_write(run.conn)
    finally:
        watch.stop()
    if watch.cancelled_wait:
        raise _standby_error(run, applied)


def flush_before_failing(run: Run) -> None:
    """Best effort, on the way out of a failed run: make what it committed durable."""
    if not run.committed or run.conn.closed:
        return
    try:
        with mapped():
            make_durable(run)
    except (ServerError, GordonError) as exc:
        log.warning(
            "could not flush the run's earlier migrations to disk",
            error=run.dsn.scrub(str(exc)),
        )


_SYNC_NAMES = "SELECT current_setting('synchronous_standby_names')"


def _standby_error(run: Run, applied: int | None) -> SyncStandbyError:
    names = "?"
    last = "?"
    try:
        with run.guard(int(CHECK_TIMEOUT_S * 1000)), mapped():
            row = run.conn.execute(_SYNC_NAMES).fetchone()
            names = str(row[0]) if row else "?"
            top = history.last_version(run.conn)
            last = "none" if top is None else f"{top:04d}"
    except ServerError as exc:
        log.debug("cannot read back after the standby wait", error=run.dsn.scrub(str(exc)))
    if applied is None:
        applied = len(run.committed)
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

    def __init__(self, run: Run) -> None:
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
            with (
                mapped(),
                connect(
                    run.dsn,
                    purpose="apply (standby watch)",
                    connect_timeout=int(CHECK_TIMEOUT_S),
                    guarded=False,
                ) as conn,
            ):
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
        except (GordonError, ServerError) as exc:
            log.debug("standby watch stopped", error=run.dsn.scrub(str(exc)))
