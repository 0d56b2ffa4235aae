"""A rehearsal's facts: the JSON round trip (they will be pinned as a fixture) and the text."""

from __future__ import annotations

import json

from gordon_migrate.rehearse import render
from gordon_migrate.rehearse.model import (
    Lock,
    MigrationFacts,
    Rehearsal,
    StatementFacts,
    mode_name,
)

REINDEX = StatementFacts(
    line=3,
    text="REINDEX TABLE\n    trading.fills",
    ms=12.5,
    locks=(
        Lock("trading.fills", "table", "ACCESS EXCLUSIVE", via="trading.fills_pkey"),
        Lock("trading.fills_pkey", "index", "ACCESS EXCLUSIVE"),
    ),
    rewritten=("trading.fills_pkey",),
    scanned=("trading.fills",),
)
DROP = StatementFacts(
    line=4,
    text="ALTER TABLE trading.fills DROP CONSTRAINT fills_order_fk",
    ms=0.25,
    locks=(
        Lock("trading.fills", "table", "ACCESS EXCLUSIVE"),
        Lock("trading.orders", "table", "ACCESS EXCLUSIVE"),
        Lock("constraint fills_order_fk on table trading.fills", "object", "ACCESS EXCLUSIVE"),
    ),
    dropped=("constraint fills_order_fk on table trading.fills",),
)
BUILD = StatementFacts(
    line=2,
    text="CREATE INDEX CONCURRENTLY fills_at ON trading.fills (at)",
    ms=1500.0,
    locks=(
        Lock("trading.fills", "table", "SHARE UPDATE EXCLUSIVE"),
        Lock("trading.fills_at", "index", "ACCESS EXCLUSIVE", new=True),
    ),
    scanned=("trading.fills",),
    created=("index trading.fills_at",),
    sampled=True,
)
REHEARSAL = Rehearsal(
    server_version="18.1",
    ms=321.5,
    replayed=(1, 2),
    migrations=(
        MigrationFacts(3, "0003_fills.sql", False, 13.0, (REINDEX, DROP)),
        MigrationFacts(4, "0004_fills_at.sql", True, 1500.5, (BUILD,)),
    ),
)


def test_the_json_round_trip_is_exact() -> None:
    text = json.dumps(REHEARSAL.to_json(), sort_keys=True)
    assert Rehearsal.from_json(json.loads(text)) == REHEARSAL
    build = json.loads(text)["migrations"][1]["statements"][0]
    assert build["sampled"] is True
    assert build["locks"][1]["new"] is True


def test_pg_locks_mode_names_are_spelled_as_the_documentation_does() -> None:
    assert mode_name("ShareUpdateExclusiveLock") == "SHARE UPDATE EXCLUSIVE"
    assert mode_name("AccessExclusiveLock") == "ACCESS EXCLUSIVE"
    assert mode_name("SIReadLock") == "SIReadLock"


def test_the_text_names_each_statement_its_locks_and_the_server() -> None:
    out = render.text(REHEARSAL)
    assert out.splitlines() == [
        "replayed 2 applied migration(s) on the scratch",
        "0003 (0003_fills.sql): in one transaction, 13.0 ms",
        "  0003_fills.sql:3  REINDEX TABLE trading.fills  (12.5 ms)",
        "    locks: trading.fills: ACCESS EXCLUSIVE through trading.fills_pkey, "
        "trading.fills_pkey (index): ACCESS EXCLUSIVE",
        "    rewritten: trading.fills_pkey",
        "    scanned: trading.fills",
        "  0003_fills.sql:4  ALTER TABLE trading.fills DROP CONSTRAINT fills_order_fk  (0.2 ms)",
        "    locks: trading.fills: ACCESS EXCLUSIVE, trading.orders: ACCESS EXCLUSIVE, "
        "constraint fills_order_fk on table trading.fills: ACCESS EXCLUSIVE",
        "    dropped: constraint fills_order_fk on table trading.fills",
        "  held until commit: trading.fills: ACCESS EXCLUSIVE, trading.fills_pkey (index): "
        "ACCESS EXCLUSIVE, trading.orders: ACCESS EXCLUSIVE, "
        "constraint fills_order_fk on table trading.fills: ACCESS EXCLUSIVE",
        "  access: unchanged",
        "0004 (0004_fills_at.sql): outside a transaction (each statement commits on its own), "
        "1.50 s",
        "  0004_fills_at.sql:2  CREATE INDEX CONCURRENTLY fills_at ON trading.fills (at)  (1.50 s)",
        "    locks (sampled): trading.fills: SHARE UPDATE EXCLUSIVE, "
        "trading.fills_at (new index): ACCESS EXCLUSIVE",
        "    scanned: trading.fills",
        "    created: index trading.fills_at",
        "  access: unchanged",
        "measured on PostgreSQL 18.1 in 321.5 ms",
    ]


def test_a_long_statement_is_shortened_and_nothing_pending_is_said() -> None:
    long = StatementFacts(line=1, text="UPDATE t SET " + "x = 1, " * 30, ms=1.0)
    lines = render.text(
        Rehearsal("16.4", 5.0, (), (MigrationFacts(1, "0001_t.sql", False, 1.0, (long,)),))
    ).splitlines()
    assert lines[1].startswith("  0001_t.sql:1  UPDATE t SET x = 1, ")
    assert lines[1].endswith("...  (1.0 ms)")
    assert lines[2] == "    locks: none new"
    empty = render.text(Rehearsal("16.4", 5.0, (1,), ()))
    assert "nothing pending" in empty
    assert render.to_json(Rehearsal("16.4", 5.0, (1,), ()))["ok"] is True
