"""Every entry of the lock table, checked on a real server: the lock mode the statement really
takes on its relation (pg_locks; an index's lock counts for its table, whose readers need it),
and whether it really rewrites the relation (relfilenode). ``tests/test_lock_truth.py`` checks
the plans lint builds from this table against the server on a larger corpus."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from gordon_migrate.lint import locks
from gordon_migrate.testing import GordonDatabase
from tests.support.dead_index import held_at_last_step

_STRONGEST = """
SELECT mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
  AND (relation = %s OR relation = ANY(%s))
"""
# The indexes of a table before the statement (one it builds is invisible to other sessions).
_INDEXES = "SELECT coalesce(array_agg(indexrelid::oid), '{}') FROM pg_index WHERE indrelid = %s"
_FILENODE = "SELECT pg_relation_filenode(%s::regclass)"


def _strongest(modes: list[str]) -> str:
    return max(modes, key=locks.MODES.index)


@pytest.mark.parametrize("form", [f for f in locks.FORMS if not f.concurrent], ids=lambda f: f.key)
def test_lock_taken_inside_a_transaction(gordon_db: GordonDatabase, form: locks.LockForm) -> None:
    with gordon_db.connect() as conn:
        if form.setup:
            conn.execute(form.setup.encode())
        row = conn.execute("SELECT %s::regclass::oid", (form.relation,)).fetchone()
        assert row is not None
        oid = row[0]
        before = conn.execute(_FILENODE, (oid,)).fetchone()
        indexes = conn.execute(_INDEXES, (oid,)).fetchone()
        assert indexes is not None
        conn.execute("BEGIN")
        conn.execute(form.example.encode())
        held = [str(r[0]) for r in conn.execute(_STRONGEST, (oid, indexes[0])).fetchall()]
        assert held, f"{form.title}: no lock on {form.relation}"
        assert _strongest(held) == form.mode, (form.title, held)
        if form.key not in {
            "drop_table",
            "rename_table",
            "reindex",
            "truncate",
            "owned_sequence",
            "drop_sequence",
        }:
            after = conn.execute(_FILENODE, (oid,)).fetchone()
            assert (after != before) == (form.work == "rewrite"), (form.title, before, after)
        if form.key == "truncate":
            after = conn.execute(_FILENODE, (oid,)).fetchone()
            assert after != before
        conn.execute("ROLLBACK")


_WAITING = """
SELECT l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE a.application_name = %s AND l.locktype = 'relation' AND l.relation = %s AND NOT l.granted
"""


@pytest.mark.parametrize(
    "form", [f for f in locks.FORMS if f.concurrent and not f.dead_index], ids=lambda f: f.key
)
def test_lock_requested_by_a_non_transactional_form(
    gordon_db: GordonDatabase, form: locks.LockForm
) -> None:
    """These cannot run in a transaction block: hold SHARE UPDATE EXCLUSIVE (which each of
    them conflicts with) from one session, run the statement from another, and read the mode
    it waits for. A weaker hold than ACCESS EXCLUSIVE lets the name lookups (ACCESS SHARE)
    through, so the wait is on the statement's own lock. For an ACCESS EXCLUSIVE form the
    hold is a reader's (ACCESS SHARE): the statement's weaker locks before it pass."""
    name = f"lint-probe-{form.key}"[:60]
    errors: list[BaseException] = []
    hold = "ACCESS SHARE" if form.mode == "AccessExclusiveLock" else "SHARE UPDATE EXCLUSIVE"
    with gordon_db.connect() as holder:
        if form.setup:
            holder.execute(form.setup.encode())
        row = holder.execute("SELECT %s::regclass::oid", (form.relation,)).fetchone()
        assert row is not None
        oid = row[0]
        holder.execute("BEGIN")
        holder.execute(f"LOCK TABLE {form.relation} IN {hold} MODE")

        def run() -> None:
            try:
                with psycopg.connect(gordon_db.dsn, autocommit=True, application_name=name) as conn:
                    conn.execute(form.example.encode())
            except psycopg.Error as exc:
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        waiting: list[str] = []
        deadline = time.monotonic() + 60
        while not waiting and time.monotonic() < deadline:
            waiting = [str(r[0]) for r in holder.execute(_WAITING, (name, oid)).fetchall()]
            if not waiting:
                time.sleep(0.05)
        holder.execute("ROLLBACK")
        worker.join(timeout=120)
    assert not worker.is_alive()
    assert not errors, errors
    assert waiting == [form.mode], (form.title, waiting)


@pytest.mark.parametrize("form", [f for f in locks.FORMS if f.dead_index], ids=lambda f: f.key)
def test_the_last_step_locks_the_dead_index_and_blocks_no_reader_or_writer(
    gordon_db: GordonDatabase, form: locks.LockForm
) -> None:
    """The statement held where it takes its lock on the old index (tests/support/dead_index):
    the lock is there (opening that index by its oid waits for it), and a reader and a writer
    of the table, each allowed to wait 1 s for a lock, go through: they no longer open it."""
    with gordon_db.connect() as conn:
        row = conn.execute(
            "SELECT %s::regclass::oid, indrelid::regclass::text FROM pg_index "
            "WHERE indexrelid = %s::regclass",
            (form.relation, form.relation),
        ).fetchone()
        assert row is not None
        oid, table = row
        with held_at_last_step(gordon_db.dsn, form.example, table) as held:
            assert held.get(form.relation) == form.mode, (form.title, held)
            conn.execute("SET lock_timeout = '1s'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                conn.execute("SELECT pg_relation_size(%s)", (oid,))
            conn.execute(f"SELECT count(*) FROM {table}")
            conn.execute(
                f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {table} LIMIT 0"
            )
            conn.execute("RESET lock_timeout")
    assert form.blocks == "neither"
