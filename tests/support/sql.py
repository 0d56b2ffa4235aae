"""Connections as the tests type them, one-line queries, and a database's state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import psycopg
import pytest

Conn = psycopg.Connection[tuple[object, ...]]
Params = Sequence[object] | Mapping[str, object]

#: The ``session_holder`` fixture: opens an extra session (a lock holder, a blocker) on a DSN.
Sessions = Callable[[str], Conn]


def rows(conn: Conn, query: str, params: Params = ()) -> list[tuple[object, ...]]:
    return conn.execute(query, params).fetchall()


def texts(conn: Conn, query: str, params: Params = ()) -> list[str]:
    """The first column of every row, as text."""
    return [str(row[0]) for row in rows(conn, query, params)]


def one(conn: Conn, query: str, params: Params = ()) -> object:
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


def column(conn: Conn, query: str, params: Params = ()) -> list[object]:
    return [row[0] for row in conn.execute(query, params).fetchall()]


def affected(conn: Conn, query: str, params: Params = ()) -> int:
    return conn.execute(query, params).rowcount


def refused(conn: Conn, query: str, params: Params = ()) -> None:
    """The statement fails with SQLSTATE 42501 (insufficient_privilege): missing grant, or a row
    that a row-level security policy does not allow."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(query, params)


_OBJECTS = """
SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' ||
       coalesce(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                           ORDER BY a.attnum), '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
GROUP BY n.nspname, c.relname, c.relkind
ORDER BY 1
"""


@dataclass(frozen=True)
class DbState:
    history: list[tuple[object, ...]]
    objects: list[str]


def db_state(dsn: str) -> DbState:
    """History rows (all columns) and every relation with its columns: "as it was" checks."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('public._sqlx_migrations')").fetchone()
        history: list[tuple[object, ...]] = []
        if exists and exists[0] is not None:
            history = conn.execute(
                "SELECT * FROM public._sqlx_migrations ORDER BY version"
            ).fetchall()
        objects = [str(row[0]) for row in conn.execute(_OBJECTS).fetchall()]
    return DbState(history=history, objects=objects)


def versions(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute(
            "SELECT version FROM public._sqlx_migrations ORDER BY version"
        ).fetchall()
    return [int(r[0]) for r in found]
