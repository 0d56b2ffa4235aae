"""A ``DROP INDEX CONCURRENTLY`` or ``REINDEX ... CONCURRENTLY`` held at its last step, where it
takes ACCESS EXCLUSIVE on each old index (marked dead by then), so that a test sees that lock
every time rather than when a sampler happens to catch it.

How (PostgreSQL's ``index_drop``, ``ReindexRelationConcurrently``): before marking the old
index dead the statement waits for every transaction holding a lock on the table; a reader
holding ACCESS SHARE on it stops it there. Then a second session takes a row lock on the old
indexes' ``pg_attribute`` rows (it holds no lock on the table, so the waits that follow pass)
and the reader lets go: the statement takes its ACCESS EXCLUSIVE on the old indexes, then waits
to delete those rows. Both majors the suite runs (16, 18) behave so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from gordon_migrate.lint import locks

_INDEXES = """
SELECT i.indexrelid::oid, format('%%I.%%I', n.nspname, c.relname)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = %s::regclass
"""
_BLOCKERS = "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity WHERE application_name = %s"
_HELD = """
SELECT relation::oid, mode FROM pg_locks
WHERE pid = %s AND locktype = 'relation' AND granted AND relation = ANY(%s)
"""
_DEADLINE_S = 60.0


def _wait_for(conn: psycopg.Connection[tuple[int, list[int]]], name: str, pid: int) -> int:
    """The statement's backend pid, once it waits for session ``pid``."""
    deadline = time.monotonic() + _DEADLINE_S
    while time.monotonic() < deadline:
        row = conn.execute(_BLOCKERS, (name,)).fetchone()
        if row is not None and pid in row[1]:
            return row[0]
        time.sleep(0.01)
    raise AssertionError(f"{name} never waited for session {pid}")


@contextmanager
def held_at_last_step(dsn: str, sql: str, table: str) -> Iterator[dict[str, str]]:
    """Runs ``sql`` (which drops or rebuilds indexes of ``table`` concurrently) and yields,
    while it is held at its last step, the old indexes it holds locks on and the strongest
    mode on each; it finishes when the block ends."""
    name = "dead-index-probe"
    errors: list[BaseException] = []
    with (
        psycopg.connect(dsn, autocommit=True) as watch,
        psycopg.connect(dsn) as reader,
        psycopg.connect(dsn) as rows,
    ):
        old = {int(str(oid)): str(index) for oid, index in watch.execute(_INDEXES, (table,))}
        reader.execute(f"LOCK TABLE {table} IN ACCESS SHARE MODE")

        def run() -> None:
            try:
                with psycopg.connect(dsn, autocommit=True, application_name=name) as conn:
                    conn.execute(sql.encode())
            except psycopg.Error as exc:
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        try:
            pid = _wait_for(watch, name, reader.info.backend_pid)
            rows.execute(
                "SELECT FROM pg_attribute WHERE attrelid = ANY(%s) FOR KEY SHARE", (list(old),)
            )
            reader.rollback()
            _wait_for(watch, name, rows.info.backend_pid)
            held: dict[str, str] = {}
            for oid, mode in watch.execute(_HELD, (pid, list(old))).fetchall():
                index = old[int(str(oid))]
                if index not in held or locks.MODES.index(str(mode)) > locks.MODES.index(
                    held[index]
                ):
                    held[index] = str(mode)
            yield held
        finally:
            reader.rollback()
            rows.rollback()
            worker.join(timeout=120)
    assert not worker.is_alive(), f"{sql} did not finish"
    assert not errors, errors
