"""The sqlx history table, byte-compatible with the Rust tool (its lock: ``locks.lock_key``).

The one owner of every statement on the table (Alembic's ``HeadMaintainer`` is the model):
apply, its outcome check, its final flush and ``repair`` call the functions here, and no
other module writes SQL against it. Each function is one round trip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg.rows import class_row

from gordon_migrate.core import db

if TYPE_CHECKING:
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.core.db import Conn

# Named by the connection layer (its facts ask whether the table exists); said here too, where
# every other reader looks for it.
HISTORY_TABLE = db.HISTORY_TABLE


_CREATE = f"""
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)
"""

_SELECT_ALL = f"""
SELECT version, description, installed_on, success, checksum, execution_time
FROM {HISTORY_TABLE} ORDER BY version
"""

_SELECT_ONE = f"""
SELECT version, description, installed_on, success, checksum, execution_time
FROM {HISTORY_TABLE} WHERE version = %s
"""

_EXISTS = f"SELECT to_regclass('{HISTORY_TABLE}') IS NOT NULL"

_LAST_VERSION = f"SELECT max(version) FROM {HISTORY_TABLE}"

_INSERT = f"""
INSERT INTO {HISTORY_TABLE} (version, description, success, checksum, execution_time)
VALUES (%s, %s, %s, %s, %s)
"""

_MARK_SUCCESS = f"""
UPDATE {HISTORY_TABLE} SET success = TRUE, execution_time = %s WHERE version = %s
"""

_FORGET_DIRTY = f"""
DELETE FROM {HISTORY_TABLE} WHERE version = %s AND NOT success AND checksum = %s
"""

# repair shows the statement before it runs it: the version is a literal, not a parameter.
_MARK_DONE = f"UPDATE {HISTORY_TABLE} SET success = TRUE WHERE version = {{}} AND NOT success"
_FORGET = f"DELETE FROM {HISTORY_TABLE} WHERE version = {{}} AND NOT success"

# A write the server must log: a commit that wrote no WAL of its own (one that only took an
# xid) is asynchronous whatever synchronous_commit says, and would flush nothing. Rewriting
# the last history row in place changes none of its values.
_FLUSH = f"""
UPDATE {HISTORY_TABLE} SET success = success
WHERE version = (SELECT max(version) FROM {HISTORY_TABLE})
"""

_OUTCOME = f"""
SELECT h.success, h.checksum, (SELECT max(version) FROM {HISTORY_TABLE})
FROM (SELECT 1) one LEFT JOIN {HISTORY_TABLE} h ON h.version = %s
"""

_PRIVILEGES = f"""
SELECT r.rolsuper,
       has_database_privilege(current_database(), 'CREATE'),
       CASE WHEN to_regclass('{HISTORY_TABLE}') IS NULL
            THEN has_schema_privilege('public', 'CREATE')
            ELSE has_table_privilege('{HISTORY_TABLE}', 'SELECT, INSERT, UPDATE') END
FROM pg_roles r WHERE r.rolname = current_user
"""


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``_sqlx_migrations`` (execution_time in nanoseconds)."""

    version: int
    description: str
    installed_on: datetime
    success: bool
    checksum: bytes
    execution_time: int


@dataclass(frozen=True)
class OutcomeRow:
    """One migration's row as the outcome check reads it, with the history's last version."""

    success: bool | None
    """None: the migration has no row."""
    checksum: bytes | None
    last_version: int | None
    """None: the history holds no row."""


@dataclass(frozen=True)
class Privileges:
    """What the session's role may do to migrate."""

    superuser: bool
    create_database: bool
    """CREATE on the database (schemas)."""
    history: bool
    """SELECT, INSERT, UPDATE on the history table, or CREATE on schema public to create it."""


def create(conn: Conn) -> None:
    """Create the table if it does not exist (as sqlx does)."""
    conn.execute(_CREATE)


def exists(conn: Conn) -> bool:
    row = conn.execute(_EXISTS).fetchone()
    return bool(row and row[0])


def read(conn: Conn) -> dict[int, AppliedMigration]:
    """Every history row by version (the table must exist)."""
    with conn.cursor(row_factory=class_row(AppliedMigration)) as cur:
        cur.execute(_SELECT_ALL)
        return {row.version: row for row in cur}


def read_row(conn: Conn, version: int, *, for_update: bool = False) -> AppliedMigration | None:
    """``version``'s row (locked until the transaction ends with ``for_update``), or None."""
    with conn.cursor(row_factory=class_row(AppliedMigration)) as cur:
        cur.execute(_SELECT_ONE + (" FOR UPDATE" if for_update else ""), (version,))
        return cur.fetchone()


def last_version(conn: Conn) -> int | None:
    """The highest version in the history (None: no row)."""
    row = conn.execute(_LAST_VERSION).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def insert(conn: Conn, migration: Migration, *, success: bool, execution_time: int) -> None:
    """Write ``migration``'s row: clean (``success``) in its own transaction, or dirty before
    a no-transaction migration's first statement (execution_time -1 until it is marked)."""
    conn.execute(
        _INSERT,
        (migration.version, migration.description, success, migration.checksum, execution_time),
    )


def mark_success(conn: Conn, version: int, execution_time: int) -> None:
    """Mark a no-transaction migration's dirty row clean after its last statement."""
    conn.execute(_MARK_SUCCESS, (execution_time, version))


def forget_dirty(conn: Conn, migration: Migration) -> None:
    """Remove ``migration``'s dirty row (apply resuming it), only if it is still dirty and
    still this file's."""
    conn.execute(_FORGET_DIRTY, (migration.version, migration.checksum))


def fix_dirty(version: int, *, done: bool) -> sql.Composed:
    """The statement ``repair`` runs on a dirty row: mark it clean (``done``) or remove it.
    Returned, not run: repair shows it before the operator confirms, then runs exactly it."""
    return sql.SQL(_MARK_DONE if done else _FORGET).format(sql.Literal(version))


def flush_write(conn: Conn) -> None:
    """Rewrite the last row unchanged: a write whose commit flushes all WAL before it."""
    conn.execute(_FLUSH)


def outcome_row(conn: Conn, version: int) -> OutcomeRow:
    """``version``'s row and the last version, in one round trip (the table must exist)."""
    row = conn.execute(_OUTCOME, (version,)).fetchone()
    assert row is not None
    success, checksum, last = row
    return OutcomeRow(
        success=None if success is None else bool(success),
        checksum=None if checksum is None else bytes(checksum),
        last_version=None if last is None else int(last),
    )


def privileges(conn: Conn) -> Privileges:
    """Whether the session's role is a superuser, may create schemas, and may write the
    history (or create it)."""
    row = conn.execute(_PRIVILEGES).fetchone()
    assert row is not None
    superuser, create_database, history = (bool(v) for v in row)
    return Privileges(superuser=superuser, create_database=create_database, history=history)


def row_json(row: AppliedMigration) -> dict[str, Any]:
    """A history row as JSON-able data (checksum in hex), as the audit stores it."""
    data = asdict(row)
    data["installed_on"] = row.installed_on.isoformat()
    data["checksum"] = row.checksum.hex()
    return data
