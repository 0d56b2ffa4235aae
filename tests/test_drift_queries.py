"""The catalog queries: read by column name, and writing what the server's own deparse
functions write.

Where a query writes a definition itself for speed (``queries.PLAIN_INDEXDEF``), it must be
byte for byte what ``pg_get_indexdef`` prints, for every kind of index, plain or not.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from gordon_migrate.core.errors import DriftError
from gordon_migrate.drift import queries, rows, snapshot
from gordon_migrate.drift.model import Snapshot
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.drift import wait_reader_sessions_gone

INDEXES = [
    'CREATE TABLE trading."Odd Name" ("Key" int, v text, w varchar(10), n numeric, r int4range,'
    ' d date, PRIMARY KEY ("Key"), UNIQUE (v, w))',
    'CREATE INDEX "odd idx" ON trading."Odd Name" (v, "Key")',
    'CREATE INDEX ON trading."Odd Name" (v DESC)',
    'CREATE INDEX ON trading."Odd Name" (v NULLS FIRST)',
    'CREATE INDEX ON trading."Odd Name" (v COLLATE "C")',
    'CREATE INDEX ON trading."Odd Name" (v text_pattern_ops)',
    'CREATE INDEX ON trading."Odd Name" (w)',  # varchar: text_ops through binary coercion
    'CREATE INDEX ON trading."Odd Name" (lower(v))',
    'CREATE INDEX ON trading."Odd Name" (n) WHERE n > 0',
    'CREATE INDEX ON trading."Odd Name" (n) INCLUDE (v)',
    'CREATE INDEX ON trading."Odd Name" (n) WITH (fillfactor = 50)',
    'CREATE UNIQUE INDEX ON trading."Odd Name" (d) NULLS NOT DISTINCT',
    'CREATE INDEX ON trading."Odd Name" USING hash (v)',
    'CREATE INDEX ON trading."Odd Name" USING gist (r)',
    'CREATE INDEX ON trading."Odd Name" USING brin (d)',
    "CREATE TABLE trading.parted (id int, at date) PARTITION BY RANGE (at)",
    "CREATE TABLE trading.parted_1 PARTITION OF trading.parted"
    " FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')",
    "CREATE INDEX ON trading.parted (id)",
]


def test_plain_index_definitions_are_pg_get_indexdef(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        for statement in INDEXES:
            conn.execute(statement.encode())
    with gordon_db.connect() as conn:
        conn.execute(f"SET {queries.UNREADABLE_SETTING} = '{{}}'")
        conn.execute(f"SET search_path = {snapshot.SESSION_SETTINGS['search_path']}")
        ours = conn.execute(queries.INDEXES).fetchall()
        theirs = conn.execute(
            queries.INDEXES.replace(queries.PLAIN_INDEXDEF, "pg_get_indexdef(i.indexrelid)")
        ).fetchall()
        # Which ones the query writes itself (the others: NULL here).
        plain = conn.execute(
            queries.INDEXES.replace("ELSE pg_get_indexdef(i.indexrelid) END", "ELSE NULL END")
        ).fetchall()
    written = {str(name) for name, *_ in ours}
    assert {'trading."odd idx"', "trading.parted_id_idx", "trading.parted_1_id_idx"} <= written
    assert ours == theirs
    # Both kinds were exercised: plain ones written by the query, the rest by the server.
    by_query = {str(row[1]) for row in plain if row[1] is not None}
    assert 'CREATE INDEX "odd idx" ON trading."Odd Name" USING btree (v, "Key")' in by_query
    assert 'CREATE INDEX "Odd Name_w_idx" ON trading."Odd Name" USING btree (w)' not in by_query
    by_server = {str(row[1]) for row in ours} - by_query
    assert any("DESC" in d for d in by_server)
    assert any("ON ONLY" in d for d in by_server)
    assert any("INCLUDE" in d for d in by_server)


class _Pair(NamedTuple):
    a: int
    b: int


def test_rows_are_read_by_column_name(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn, conn.cursor(row_factory=rows.named_row(_Pair)) as cursor:
        in_order = cursor.execute("SELECT 1 AS a, 2 AS b").fetchall()
        reordered = cursor.execute("SELECT 2 AS b, 1 AS a").fetchall()
        assert in_order == reordered == [_Pair(a=1, b=2)]
        assert isinstance(reordered[0], _Pair)
        with pytest.raises(DriftError, match="_Pair has no column named b"):
            cursor.execute("SELECT 1 AS a, 2 AS c").fetchall()


def test_every_query_names_the_fields_of_its_row(gordon_db: GordonDatabase) -> None:
    """Each query of a snapshot, as its row type: a column renamed or dropped fails here."""
    with gordon_db.connect() as conn:
        conn.execute(f"SET {queries.UNREADABLE_SETTING} = '{{}}'")
        batches = snapshot._pipeline(conn.info.server_version)
        pairs = [pair for batch in batches for pair in batch]
        pairs += [(queries.LOCKS, rows.LockRow), (queries.HOLDERS, rows.HolderRow)]
        for query, row_type in pairs:
            with conn.cursor(row_factory=rows.named_row(row_type)) as cursor:
                cursor.execute(query)
                names = tuple(column.name for column in cursor.description or ())
                assert names == row_type._fields


def _take(db: GordonDatabase, sibling: bool) -> Snapshot:
    from gordon_migrate.core import db as gdb
    from gordon_migrate.core import dsn

    target = dsn.parse(db.dsn_as("gordon_drift_reader"))

    def connect() -> gdb.Conn:
        return gdb.connect(
            target, purpose="test", read_only=True, options=snapshot.SESSION_SETTINGS
        )

    with connect() as conn:
        return snapshot.take(conn, sibling=connect if sibling else None)


def test_a_second_connection_reads_the_same_snapshot(
    gordon_db: GordonDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Columns, constraints and indexes read by the sibling connection: the same lines as
    over one connection, one query more (the snapshot import)."""
    with gordon_db.connect() as conn:
        for i in range(20):
            conn.execute(f"CREATE TABLE trading.extra_{i} (id int PRIMARY KEY, v text UNIQUE)")
    one = _take(gordon_db, sibling=False)
    assert _take(gordon_db, sibling=True).queries == one.queries, "small: one connection"
    monkeypatch.setattr(snapshot, "SIBLING_FROM", 0)
    two = _take(gordon_db, sibling=True)
    assert two.sections == one.sections
    assert two.queries == one.queries + 1
    assert any(line.object == "index trading.extra_7_v_key" for line in two.sections["schema"])
    wait_reader_sessions_gone(gordon_db.dsn)  # both sessions are closed


def test_without_a_second_connection_slot_one_connection_reads_all(
    cli: CliRunner, gordon_db: GordonDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drift reader limited to one connection: drift-check still passes, over one."""
    monkeypatch.setattr(snapshot, "SIBLING_FROM", 0)
    with gordon_db.connect() as conn:
        conn.execute("ALTER ROLE gordon_drift_reader CONNECTION LIMIT 1")
    try:
        single = _take(gordon_db, sibling=True)
        result = cli("drift-check", "--database-url", gordon_db.dsn_as("gordon_drift_reader"))
    finally:
        with gordon_db.connect() as conn:
            conn.execute("ALTER ROLE gordon_drift_reader CONNECTION LIMIT -1")
    assert single.queries == _take(gordon_db, sibling=False).queries
    # The limit itself is a role attribute, pinned (drift): the only difference.
    assert result.code == 1, result.out
    assert "DRIFT: 1 difference" in result.out
    assert "changed     role gordon_drift_reader" in result.out
    assert "+connection limit: 1" in result.out


def test_the_first_batch_is_the_same_with_a_sibling_or_without() -> None:
    """It is sent before the sibling connects (``snapshot._take``)."""
    for server in (150000, 160000, 180000):
        alone, _ = snapshot._lanes(server, sibling=False)
        main, side = snapshot._lanes(server, sibling=True)
        assert alone[0] == main[0]
        assert sorted(q for b in alone for q, _ in b) == sorted(
            q for b in main + side for q, _ in b
        )


def test_the_second_connection_does_not_open_a_locked_relation(
    gordon_db: GordonDatabase, session_holder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session holds ACCESS EXCLUSIVE on a table whose columns, constraints and
    indexes the sibling reads: it reads them as unread, like the first connection, and waits
    for nothing."""
    monkeypatch.setattr(snapshot, "SIBLING_FROM", 0)
    holder = session_holder(gordon_db.dsn)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE trading.fills IN ACCESS EXCLUSIVE MODE")
    one = _take(gordon_db, sibling=False)
    two = _take(gordon_db, sibling=True)
    holder.execute("ROLLBACK")
    assert two.queries == one.queries + 1, "read over two connections"
    assert two.sections == one.sections
    assert two.unread == one.unread
    assert any(s.startswith("trading.fills: pid ") for s in two.unread)
    unread = [line for line in two.sections["schema"] if line.value == queries.UNREAD]
    assert any(line.object.startswith("index trading.fills") for line in unread)
