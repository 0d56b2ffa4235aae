"""What the linter and the lock plan read from a live database (read-only, catalog only)."""

from __future__ import annotations

from collections.abc import Mapping

from gordon_migrate.db import Conn
from gordon_migrate.lint import locks
from gordon_migrate.lint.analyze import LiveInfo
from gordon_migrate.lint.model import Holder, TableSize

_SIZES = """
SELECT n.nspname || '.' || c.relname, c.reltuples::float8, pg_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
"""
_INDEXES = """
SELECT n.nspname || '.' || ic.relname, n.nspname || '.' || tc.relname
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
"""


def read_live(conn: Conn) -> LiveInfo:
    sizes = {
        str(name): TableSize(rows=float(rows), bytes=int(size))
        for name, rows, size in conn.execute(_SIZES).fetchall()
    }
    indexes = {str(i): str(t) for i, t in conn.execute(_INDEXES).fetchall()}
    return LiveInfo(sizes=sizes, indexes=indexes)


_HOLDERS = """
SELECT l.pid, n.nspname || '.' || c.relname, l.mode, l.granted,
       coalesce(a.application_name, ''), coalesce(a.state, ''),
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200)
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database
                                                 WHERE datname = current_database())
  AND l.pid <> pg_backend_pid()
  AND n.nspname || '.' || c.relname = ANY(%s)
ORDER BY l.pid, 2
"""


def conflicting_holders(conn: Conn, planned: Mapping[str, set[str]]) -> list[Holder]:
    """Sessions holding (or queued for) a lock on a planned relation that conflicts with a
    mode the plan takes there: the migration would wait behind them."""
    if not planned:
        return []
    out: list[Holder] = []
    for pid, relation, mode, granted, app, state, age, query in conn.execute(
        _HOLDERS, (sorted(planned),)
    ).fetchall():
        if any(locks.conflicts(want, str(mode)) for want in planned.get(str(relation), ())):
            out.append(
                Holder(
                    pid=int(pid),
                    relation=str(relation),
                    mode=str(mode),
                    granted=bool(granted),
                    application=str(app),
                    state=str(state),
                    xact_age_s=None if age is None else float(age),
                    query=str(query),
                )
            )
    return out
