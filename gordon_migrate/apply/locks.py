"""The migration advisory lock (sqlx's key), polled so a waiting runner holds no snapshot."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

import psycopg
import structlog
from psycopg.rows import class_row

from gordon_migrate.core.db import Conn, connection
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.errors import InternalError
from gordon_migrate.core.sessions import Session, advisory_holder

log = structlog.get_logger("gordon_migrate.locks")

_LOCK_MULTIPLIER = 0x3D32AD9E


def lock_key(database: str) -> int:
    """sqlx's advisory lock id: ``0x3d32ad9e * crc32(database)`` (CRC-32/ISO-HDLC)."""
    return _LOCK_MULTIPLIER * zlib.crc32(database.encode("utf-8"))


def lock_key_parts(key: int) -> tuple[int, int]:
    """How ``pg_locks`` shows a bigint advisory key: (classid, objid), objsubid = 1."""
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


def holder(conn: Conn, key: int) -> Session | None:
    """Who holds the advisory lock ``key`` in this database, if anyone."""
    classid, objid = lock_key_parts(key)
    return advisory_holder(conn, classid, objid)


def find_holder(dsn: Dsn, key: int, *, purpose: str, doing: str) -> Session | None:
    """``holder`` on a read-only connection of its own."""
    with connection(dsn, purpose=purpose, doing=doing, read_only=True) as conn:
        return holder(conn, key)


def try_acquire(conn: Conn, key: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row and row[0])


def _unguarded() -> AbstractContextManager[None]:
    return nullcontext()


def acquire(
    conn: Conn,
    key: int,
    wait_s: float,
    guard: Callable[[], AbstractContextManager[None]] = _unguarded,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[Session | None], None] | None = None,
) -> float:
    """Take the session lock ``key`` within ``wait_s`` seconds; return the time waited.

    Polls ``pg_try_advisory_lock`` on an autocommit connection instead of blocking in
    ``pg_advisory_lock``: a blocked call keeps a snapshot open, and a ``CREATE INDEX
    CONCURRENTLY`` in the holder's migration would then wait for us forever.
    Raises ``LockTimeout``, carrying the holder, when time runs out. ``guard`` wraps each
    round trip (the engine's watchdog against a server that stops answering). ``on_wait`` is
    told the holder once, when the lock is not free at once (the TUI shows whom it waits for).
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise InternalError("the migration lock must be polled with no transaction open")
    start = time.monotonic()
    deadline = start + wait_s
    delay = 0.05
    announced = False
    while True:
        with guard():
            if try_acquire(conn, key):
                return time.monotonic() - start
        now = time.monotonic()
        if now >= deadline:
            with guard():
                raise LockTimeout(holder(conn, key), now - start)
        if not announced:
            with guard():
                current = holder(conn, key)
            log.warning(
                "waiting for the migration lock",
                holder=current.describe(with_state=True) if current else "unknown",
                lock_wait_s=wait_s,
            )
            if on_wait is not None:
                on_wait(current)
            announced = True
        sleep(min(delay, max(deadline - now, 0.0)))
        delay = min(delay * 2, 1.0)


class LockTimeout(Exception):
    """Internal: the wait ran out; the engine turns it into a ``LockWaitError``."""

    def __init__(self, holder: Session | None, waited_s: float) -> None:
        super().__init__("lock wait exceeded")
        self.holder = holder
        self.waited_s = waited_s

    def describe(self, database: str, key: int) -> str:
        """What ran out and who holds the lock: the lead of every lock-wait message."""
        who = (
            self.holder.describe(with_state=True)
            if self.holder
            else "a session that has since gone"
        )
        return (
            f"timed out after {self.waited_s:.1f}s waiting for the migration lock of database "
            f"{database} (advisory lock {key}), held by {who}"
        )


# Sessions holding granted locks on given relations, or blocking a given backend. pg_locks and
# pg_blocking_pids() are visible to every role; pg_stat_activity hides other roles' details
# (state, client, transaction start) unless the role is in pg_read_all_stats, so those columns
# may be NULL: the text then says so instead of guessing.
_BLOCKER_COLUMNS = """
       l.pid, l.mode, coalesce(n.nspname || '.' || c.relname, l.locktype) AS relation,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.usename, '') AS username,
       CASE WHEN a.state IS NULL THEN NULL
            ELSE coalesce(host(a.client_addr), 'local socket') END AS client,
       a.state, a.xact_start
FROM pg_locks l
LEFT JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
"""

_HOLDERS_OF = f"""
SELECT DISTINCT ON (l.pid, l.relation, l.mode) {_BLOCKER_COLUMNS}
WHERE l.granted AND l.pid <> pg_backend_pid() AND l.locktype = 'relation'
  AND l.relation IN (SELECT to_regclass(r) FROM unnest(%(relations)s::text[]) AS r)
ORDER BY l.pid, l.relation, l.mode
LIMIT 20
"""

_BLOCKING = f"""
SELECT DISTINCT ON (l.pid) {_BLOCKER_COLUMNS}
WHERE l.granted AND l.pid = ANY(pg_blocking_pids(%(pid)s))
ORDER BY l.pid, l.relation IS NULL, l.mode
LIMIT 20
"""


@dataclass(frozen=True)
class Blocker:
    """A session holding a lock that a migration statement waits for (or waited for)."""

    pid: int
    mode: str
    relation: str
    application_name: str
    username: str
    client: str | None
    state: str | None
    xact_start: datetime | None

    def describe(self) -> str:
        app = self.application_name or "no application_name"
        head = f"pid {self.pid} ({app}, user {self.username or '?'}"
        if self.state is None:
            return (
                f"{head}; state hidden: the migration role needs pg_read_all_stats to see it) "
                f"holding {self.mode} on {self.relation}"
            )
        since = (
            f", in a transaction since {self.xact_start.isoformat(timespec='seconds')}"
            if self.xact_start
            else ""
        )
        return (
            f"{head}, from {self.client}, {self.state}{since}) "
            f"holding {self.mode} on {self.relation}"
        )

    def fields(self) -> dict[str, object]:
        """The blocker as log fields."""
        return {
            "pid": self.pid,
            "application": self.application_name,
            "user": self.username,
            "client": self.client,
            "state": self.state,
            "xact_start": self.xact_start.isoformat() if self.xact_start else None,
            "relation": self.relation,
            "mode": self.mode,
        }


def holders_of(conn: Conn, relations: list[str]) -> list[Blocker]:
    """Other sessions holding granted locks on ``relations`` (qualified names; unknown skipped)."""
    if not relations:
        return []
    with conn.cursor(row_factory=class_row(Blocker)) as cur:
        cur.execute(_HOLDERS_OF, {"relations": relations})
        return cur.fetchall()


def blocking(conn: Conn, pid: int) -> list[Blocker]:
    """The sessions that backend ``pid`` is waiting for, with one lock each holds."""
    with conn.cursor(row_factory=class_row(Blocker)) as cur:
        cur.execute(_BLOCKING, {"pid": pid})
        return cur.fetchall()
