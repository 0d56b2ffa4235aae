"""What the linter and the lock plan read from a live database (read-only, catalog only)."""

from __future__ import annotations

from collections.abc import Mapping

from psycopg.rows import TupleRow

from gordon_migrate.core.db import Conn, connection, mapped
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.errors import LOCK_NOT_AVAILABLE, ServerError
from gordon_migrate.core.sessions import Holder, lock_holders
from gordon_migrate.lint import locks
from gordon_migrate.lint.model import LiveInfo, TableSize
from gordon_migrate.rehearse import functions as pg_functions

# A table's indexes and TOAST by the catalog (relpages), for when they cannot be read live.
_PARTS_FROM_CATALOG = """
       (SELECT coalesce(sum(ic.relpages), 0)::int8 FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid)
       * current_setting('block_size')::int8,
       coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = c.reltoastrelid), 0)::int8
       * current_setting('block_size')::int8
"""

# pg_relation_size() opens the relation with ACCESS SHARE: behind another session's ACCESS
# EXCLUSIVE lock (held or queued: a TRUNCATE, a VACUUM FULL, a pending ALTER, autovacuum's
# truncation) it would wait, stalling or failing apply on a table its migrations may not even
# touch. So a relation someone holds or awaits in that mode is sized by the catalog
# (relpages) instead, and the whole read runs under a short lock_timeout in case such a lock
# arrives between the pg_locks snapshot and the size call; it is then read again.
_SIZES = (
    """
WITH locked AS MATERIALIZED (
    SELECT DISTINCT l.relation FROM pg_locks l
    WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.pid <> pg_backend_pid()
), parts_locked AS MATERIALIZED (
    -- a table whose index or TOAST table is held so: its heap is read, the rest by the catalog
    SELECT i.indrelid AS relation FROM pg_index i
    WHERE i.indexrelid IN (SELECT relation FROM locked)
    UNION SELECT t.oid FROM pg_class t WHERE t.reltoastrelid IN (SELECT relation FROM locked)
    UNION SELECT relation FROM locked
)
SELECT n.nspname || '.' || c.relname, c.reltuples::float8,
       CASE WHEN c.oid IN (SELECT relation FROM locked) THEN NULL
            ELSE pg_relation_size(c.oid) END,
       c.relpages::int8 * current_setting('block_size')::int8,
       CASE WHEN c.oid IN (SELECT relation FROM parts_locked) THEN NULL
            ELSE pg_indexes_size(c.oid) END,
       CASE WHEN c.oid IN (SELECT relation FROM parts_locked) OR c.reltoastrelid = 0 THEN NULL
            ELSE pg_total_relation_size(c.reltoastrelid) END,
"""
    + _PARTS_FROM_CATALOG
    + """
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
"""
)
_SIZES_FROM_CATALOG = (
    """
SELECT n.nspname || '.' || c.relname, c.reltuples::float8, NULL::int8,
       c.relpages::int8 * current_setting('block_size')::int8, NULL::int8, NULL::int8,
"""
    + _PARTS_FROM_CATALOG
    + """
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
"""
)
SIZE_LOCK_TIMEOUT = "50ms"
SIZE_ATTEMPTS = 3
_INDEXES = """
SELECT n.nspname || '.' || ic.relname, n.nspname || '.' || tc.relname
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
"""


def read_live(conn: Conn, *, functions: bool = False) -> LiveInfo:
    """Sizes and index owners, never waiting on a relation lock (see ``_SIZES``); with
    ``functions``, every function of the target as its ``pg_proc`` says (what lint judges a
    default's volatility by; apply's lock-hold estimate has no use for them)."""
    sizes = {
        str(name): TableSize(
            rows=float(rows),
            bytes=int(size if size is not None else pages),
            estimated=size is None,
            indexes=int(indexes if indexes is not None else indexes_pages),
            toast=int(toast if toast is not None else toast_pages),
        )
        for name, rows, size, pages, indexes, toast, indexes_pages, toast_pages in _size_rows(conn)
    }
    indexes = {str(i): str(t) for i, t in conn.execute(_INDEXES).fetchall()}
    found = pg_functions.read(conn) if functions else None
    return LiveInfo(sizes=sizes, indexes=indexes, functions=found)


def read_live_at(dsn: Dsn, *, purpose: str) -> LiveInfo:
    """``read_live`` (with the functions) on a read-only connection of its own."""
    with connection(dsn, purpose=purpose, doing="reading table sizes", read_only=True) as conn:
        return read_live(conn, functions=True)


def _size_rows(conn: Conn) -> list[TupleRow]:
    # The session's own lock_timeout is lowered around the read and given back after (no
    # transaction: the caller's session may be apply's, in autocommit).
    row = conn.execute(
        "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, false)",
        (SIZE_LOCK_TIMEOUT,),
    ).fetchone()
    assert row is not None
    try:
        for _ in range(SIZE_ATTEMPTS):
            try:
                with mapped():
                    return conn.execute(_SIZES).fetchall()
            except ServerError as exc:
                if exc.sqlstate != LOCK_NOT_AVAILABLE:
                    raise
                continue  # a lock arrived after the pg_locks snapshot: look again
        return conn.execute(_SIZES_FROM_CATALOG).fetchall()
    finally:
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (row[0],))


def conflicting_holders(conn: Conn, planned: Mapping[str, set[str]]) -> list[Holder]:
    """Sessions holding (or queued for) a lock on a planned relation that conflicts with a
    mode the plan takes there: the migration would wait behind them."""
    if not planned:
        return []
    return [
        h
        for h in lock_holders(conn, sorted(planned))
        if any(locks.conflicts(want, h.mode) for want in planned.get(h.relation, ()))
    ]
