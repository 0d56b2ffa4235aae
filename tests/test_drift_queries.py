"""The catalog queries write what the server's own deparse functions write.

Where a query writes a definition itself for speed (``queries.PLAIN_INDEXDEF``), it must be
byte for byte what ``pg_get_indexdef`` prints, for every kind of index, plain or not.
"""

from __future__ import annotations

from gordon_migrate.drift import queries, snapshot
from gordon_migrate.testing import GordonDatabase

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
