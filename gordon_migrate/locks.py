"""The migration advisory lock: taken by polling, so a waiting runner holds no snapshot."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
import structlog
from psycopg.rows import class_row

from gordon_migrate.db import Conn
from gordon_migrate.history import lock_key_parts

log = structlog.get_logger("gordon_migrate.locks")

_HOLDER = """
SELECT a.pid, coalesce(a.application_name, '') AS application_name,
       CASE WHEN a.backend_start IS NULL THEN ''  -- hidden from this role (pg_read_all_stats)
            ELSE coalesce(host(a.client_addr), 'local socket') END AS client,
       coalesce(a.usename, '') AS username, a.backend_start, a.state_change,
       coalesce(a.state, '') AS state, a.pid = pg_backend_pid() AS is_self
FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
        SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
ORDER BY a.backend_start
LIMIT 1
"""


@dataclass(frozen=True)
class LockHolder:
    """The session holding the migration lock, as pg_stat_activity shows it."""

    pid: int
    application_name: str
    client: str
    username: str
    backend_start: datetime | None
    state_change: datetime | None
    state: str
    is_self: bool

    def describe(self) -> str:
        app = self.application_name or "no application_name"
        if self.backend_start is None:  # pg_stat_activity hides another role's session
            return (
                f"pid {self.pid} ({app}, user {self.username or '?'}; its client, start and "
                "state are hidden from this role: membership in pg_read_all_stats shows them)"
            )
        since = self.backend_start.isoformat(timespec="seconds")
        return (
            f"pid {self.pid} ({app}, user {self.username or '?'}, from {self.client}, "
            f"connected since {since}, {self.state or 'state unknown'})"
        )

    @property
    def terminate_sql(self) -> str:
        return f"SELECT pg_terminate_backend({self.pid});"


def holder(conn: Conn, key: int) -> LockHolder | None:
    """Who holds the advisory lock ``key`` in this database, if anyone."""
    classid, objid = lock_key_parts(key)
    with conn.cursor(row_factory=class_row(LockHolder)) as cur:
        cur.execute(_HOLDER, (classid, objid))
        return cur.fetchone()


def try_acquire(conn: Conn, key: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row and row[0])


def acquire(conn: Conn, key: int, wait_s: float) -> float:
    """Take the session lock ``key`` within ``wait_s`` seconds; return the time waited.

    Polls ``pg_try_advisory_lock`` on an autocommit connection instead of blocking in
    ``pg_advisory_lock``: a blocked call keeps a snapshot open, and a ``CREATE INDEX
    CONCURRENTLY`` in the holder's migration would then wait for us forever.
    Raises ``LockTimeout``, carrying the holder, when time runs out.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError("the lock must be polled with no transaction open")
    start = time.monotonic()
    deadline = start + wait_s
    delay = 0.05
    announced = False
    while True:
        if try_acquire(conn, key):
            return time.monotonic() - start
        now = time.monotonic()
        if now >= deadline:
            raise LockTimeout(holder(conn, key), now - start)
        if not announced:
            current = holder(conn, key)
            log.warning(
                "waiting for the migration lock",
                holder=current.describe() if current else "unknown",
                lock_wait_s=wait_s,
            )
            announced = True
        time.sleep(min(delay, max(deadline - now, 0.0)))
        delay = min(delay * 2, 1.0)


class LockTimeout(Exception):
    """Internal: the wait ran out; the engine turns it into a ``LockWaitError``."""

    def __init__(self, holder: LockHolder | None, waited_s: float) -> None:
        super().__init__("lock wait exceeded")
        self.holder = holder
        self.waited_s = waited_s

    def describe(self, database: str, key: int) -> str:
        """What ran out and who holds the lock: the lead of every lock-wait message."""
        who = self.holder.describe() if self.holder else "a session that has since gone"
        return (
            f"timed out after {self.waited_s:.1f}s waiting for the migration lock of database "
            f"{database} (advisory lock {key}), held by {who}"
        )
