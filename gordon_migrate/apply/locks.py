"""The migration advisory lock (sqlx's key), polled so a waiting runner holds no snapshot."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import psycopg
import structlog

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
