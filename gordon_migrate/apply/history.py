"""The sqlx history table, byte-compatible with the Rust tool (its lock: ``locks.lock_key``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg.rows import class_row

from gordon_migrate.core import db

if TYPE_CHECKING:
    from gordon_migrate.core.db import Conn

# Named by the connection layer (its facts ask whether the table exists); said here too, where
# every other reader looks for it.
HISTORY_TABLE = db.HISTORY_TABLE


CREATE_HISTORY = f"""
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)
"""

SELECT_HISTORY = f"""
SELECT version, description, installed_on, success, checksum, execution_time
FROM {HISTORY_TABLE} ORDER BY version
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


def read(conn: Conn) -> dict[int, AppliedMigration]:
    """Every history row by version (the table must exist)."""
    with conn.cursor(row_factory=class_row(AppliedMigration)) as cur:
        cur.execute(SELECT_HISTORY)
        return {row.version: row for row in cur}


def row_json(row: AppliedMigration) -> dict[str, Any]:
    """A history row as JSON-able data (checksum in hex), as the audit stores it."""
    data = asdict(row)
    data["installed_on"] = row.installed_on.isoformat()
    data["checksum"] = row.checksum.hex()
    return data
