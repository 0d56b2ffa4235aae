"""The pinned lock plan without a server: reading it (``rehearse.pinned``), writing and merging
it per major (``rehearse.pinning``), and what apply's report makes of it (``observe.plan``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gordon_migrate.core import bundle
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.errors import ConfigError
from gordon_migrate.observe.plan import measured_locks, pg_mode
from gordon_migrate.rehearse import pinned, pinning
from gordon_migrate.rehearse.model import Lock, MigrationFacts, Rehearsal, StatementFacts
from gordon_migrate.rehearse.pinned import PinnedPlan, PinnedStatement
from gordon_migrate.sql.split import split
from gordon_migrate.sql.statement import inspect

SQL = "CREATE INDEX fills_at ON trading.fills (at);\nGRANT SELECT ON trading.fills TO api;\n"
MIGRATION = Migration(
    version=7, description="fills_at", path=Path("0007_fills_at.sql"), data=SQL.encode()
)

BUILD = StatementFacts(
    line=1,
    text="CREATE INDEX fills_at ON trading.fills (at)",
    ms=3.5,
    locks=(
        Lock("trading.fills", "table", "SHARE"),
        Lock("trading.fills_at", "index", "ACCESS EXCLUSIVE", new=True),
    ),
    scanned=("trading.fills",),
    created=("index trading.fills_at",),
)
GRANT_18 = StatementFacts(
    line=2,
    text="GRANT SELECT ON trading.fills TO api",
    ms=0.2,
    locks=(
        Lock("trading.fills", "table", "ACCESS SHARE"),
        Lock("database gordon_rehearse_0a1b2c3d", "object", "ACCESS SHARE"),
    ),
)
GRANT_16 = StatementFacts(line=2, text=GRANT_18.text, ms=0.1)


def _rehearsal(version: str, *statements: StatementFacts) -> Rehearsal:
    migration = MigrationFacts(7, MIGRATION.filename, False, 4.0, statements)
    return Rehearsal(server_version=version, ms=9.0, replayed=(), migrations=(migration,))


def _pinned_18() -> PinnedPlan:
    return pinning.merge(PinnedPlan(), [MIGRATION], _rehearsal("18.1", BUILD, GRANT_18))


def test_a_missing_file_pins_nothing(tmp_path: Path) -> None:
    plan = pinned.load(tmp_path / "lockplan.json")
    assert plan == PinnedPlan()
    assert plan.lookup(7, MIGRATION.checksum.hex()) is None


def test_a_migration_with_other_bytes_has_no_pinned_plan(tmp_path: Path) -> None:
    path = tmp_path / "lockplan.json"
    path.write_text(pinning.render(_pinned_18()), encoding="utf-8")
    plan = pinned.load(path)
    assert plan.lookup(7, MIGRATION.checksum.hex()) is not None
    edited = Migration(7, "fills_at", MIGRATION.path, SQL.encode() + b"-- again\n")
    assert plan.lookup(7, edited.checksum.hex()) is None
    assert plan.lookup(8, MIGRATION.checksum.hex()) is None


def test_a_file_that_is_not_a_pinned_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lockplan.json"
    path.write_text('{"migrations": []}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a pinned lock plan"):
        pinned.load(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="rebuild it with `gordon-migrate fixtures update`"):
        pinned.load(path)


def test_what_is_pinned_of_a_statement() -> None:
    (migration,) = _pinned_18().migrations.values()
    assert migration.server_major == 18
    assert migration.checksum == MIGRATION.checksum.hex()
    build, grant = migration.statements
    # A statement in a transaction keeps its lock on the index it builds.
    assert build == PinnedStatement(
        line=1,
        locks=BUILD.locks,
        scanned=("trading.fills",),
        created=("index trading.fills_at",),
        at=(0, 43),
    )
    # The scratch database's random name is not pinned.
    assert grant.locks[1] == Lock("database (current)", "object", "ACCESS SHARE")


def test_a_sampled_statements_lock_on_what_it_creates_is_not_pinned() -> None:
    sampled = StatementFacts(line=1, text="", ms=1.0, locks=BUILD.locks, sampled=True)
    assert pinning.pinned_statement(sampled).locks == (Lock("trading.fills", "table", "SHARE"),)


def test_a_sampled_statements_lock_on_an_index_it_marked_dead_is_not_pinned() -> None:
    table = Lock("trading.fills", "table", "SHARE UPDATE EXCLUSIVE")
    dead = Lock("trading.fills_at", "index", "ACCESS EXCLUSIVE", dead=True)
    sampled = StatementFacts(line=1, text="", ms=1.0, locks=(table, dead), sampled=True)
    assert pinning.pinned_statement(sampled).locks == (table,)


def test_the_file_round_trips_one_statement_a_line() -> None:
    plan = pinning.merge(_pinned_18(), [MIGRATION], _rehearsal("16.9", BUILD, GRANT_16))
    text = pinning.render(plan)
    assert pinned.parse(text) == plan
    data = json.loads(text)
    assert "ms" not in text and "GRANT SELECT" not in text
    assert [m["version"] for m in data["migrations"]] == [7]
    statement_lines = [x for x in text.splitlines() if x.lstrip().startswith('{"line": ')]
    assert len(statement_lines) == 3  # two statements, one difference on 16


def test_another_major_pins_only_where_it_differs() -> None:
    plan = pinning.merge(_pinned_18(), [MIGRATION], _rehearsal("16.9", BUILD, GRANT_16))
    (migration,) = plan.migrations.values()
    assert migration.server_major == 18
    assert migration.by_major == {16: ({"line": 2, "locks": []},)}
    assert migration.majors == (16, 18)
    on_16 = migration.on(16)
    assert on_16 is not None and on_16[1].locks == () and on_16[0] == migration.statements[0]
    assert migration.on(15) is None
    assert migration.plan_for(16) == (16, on_16)
    assert migration.plan_for(17) == (18, migration.statements)  # never measured on 17
    assert migration.plan_for(None) == (18, migration.statements)


def test_a_run_on_the_default_major_keeps_the_other_majors() -> None:
    """18 measured again after 16: 16's differences are kept, against the new 18 plan."""
    with_16 = pinning.merge(_pinned_18(), [MIGRATION], _rehearsal("16.9", BUILD, GRANT_16))
    again = pinning.merge(with_16, [MIGRATION], _rehearsal("18.2", BUILD, GRANT_18))
    assert again == with_16
    # Measured first on 16 (no 18 yet): 18 takes over as the plan, 16 becomes a difference.
    first_16 = pinning.merge(PinnedPlan(), [MIGRATION], _rehearsal("16.9", BUILD, GRANT_16))
    assert next(iter(first_16.migrations.values())).server_major == 16
    assert pinning.merge(first_16, [MIGRATION], _rehearsal("18.1", BUILD, GRANT_18)) == with_16


def test_an_edited_migration_is_measured_anew() -> None:
    edited = Migration(7, "fills_at", MIGRATION.path, SQL.encode() + b"-- again\n")
    with_16 = pinning.merge(_pinned_18(), [MIGRATION], _rehearsal("16.9", BUILD, GRANT_16))
    fresh = pinning.merge(with_16, [edited], _rehearsal("18.1", BUILD, GRANT_18))
    (migration,) = fresh.migrations.values()
    assert migration.checksum == edited.checksum.hex() and migration.by_major == {}
    assert pinning.changes(with_16, fresh) == [
        "0007_fills_at.sql: pinned for other bytes (the file was edited)"
    ]


def test_changes_name_the_statement_and_the_facts() -> None:
    old = _pinned_18()
    changed = replace(GRANT_18, scanned=("trading.fills",))
    new = pinning.merge(old, [MIGRATION], _rehearsal("18.1", BUILD, changed))
    assert pinning.changes(old, new) == ["0007_fills_at.sql:2: scanned"]
    on_16 = pinning.merge(old, [MIGRATION], _rehearsal("16.9", BUILD, GRANT_16))
    assert pinning.changes(old, on_16) == ["0007_fills_at.sql on PostgreSQL 16: measured"]
    assert pinning.changes(on_16, PinnedPlan()) == ["0007_fills_at.sql: not in the bundle any more"]


def test_the_report_gets_relation_locks_in_the_static_plans_words() -> None:
    (migration,) = _pinned_18().migrations.values()
    build, grant = (measured_locks(s) for s in migration.statements)
    assert build == [
        {
            "relation": "trading.fills",
            "mode": "ShareLock",
            "blocks": "writes",
            "work": "scan",
            "new_relation": False,
            "kind": "table",
            "via": None,
        },
        {
            "relation": "trading.fills_at",
            "mode": "AccessExclusiveLock",
            "blocks": "reads and writes",
            "work": "none",
            "new_relation": True,
            "kind": "index",
            "via": None,
        },
    ]
    assert [lock["relation"] for lock in grant] == ["trading.fills"]  # not the database


def test_modes_as_pg_locks_spells_them_and_what_they_block() -> None:
    assert pg_mode("SHARE UPDATE EXCLUSIVE") == "ShareUpdateExclusiveLock"
    assert pg_mode("ACCESS SHARE") == "AccessShareLock"

    def blocks(mode: str, *, dead: bool = False) -> str:
        return Lock("trading.fills_at", "index", mode, dead=dead).blocks

    assert [blocks(m) for m in ("ACCESS SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE")] == [
        "neither"
    ] * 3
    assert [blocks(m) for m in ("SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE")] == ["writes"] * 3
    assert blocks("ACCESS EXCLUSIVE") == "reads and writes"
    # The last step of a concurrent drop or rebuild: no reader or writer opens a dead index.
    assert blocks("ACCESS EXCLUSIVE", dead=True) == "neither"


def test_every_bundled_migration_is_pinned_for_its_bytes() -> None:
    """Also caught by the fixture tests on a server; here in a second, without one."""
    plan = pinned.load()
    missing = [
        m.filename for m in bundle.load() if plan.lookup(m.version, m.checksum.hex()) is None
    ]
    assert not missing, f"run `gordon-migrate fixtures update` for {missing}"


def test_the_bundle_is_split_as_pinned_exactly_as_the_parser_splits_it() -> None:
    """apply sends the bundle's statements from their pinned places (no parser on the deploy
    path): they must be the parser's, and so must how each runs."""
    for m in bundle.load():
        parsed = split(m.sql)
        assert pinned.statements_of(m) == parsed, m.filename
        light = {
            s.start: m.no_transaction and inspect(s.text).share_update_exclusive_only
            for s in parsed
        }
        assert pinned.without_lock_timeout_of(m) == light, m.filename
    assert any(any(pinned.without_lock_timeout_of(m).values()) for m in bundle.load())


def test_a_migration_without_pinned_places_is_split_by_the_parser() -> None:
    plan = _pinned_18()
    other = Migration(version=7, description="x", path=Path("0007_x.sql"), data=b"SELECT 1;")
    assert pinned.statements_of(other, plan) == split("SELECT 1;")  # other bytes: not pinned
    (migration,) = plan.migrations.values()
    before_places = replace(
        migration, statements=tuple(replace(s, at=None) for s in migration.statements)
    )
    old = PinnedPlan({7: before_places})
    assert before_places.split(SQL) is None
    assert pinned.statements_of(MIGRATION, old) == split(SQL)
    assert pinned.statements_of(MIGRATION, plan) == split(SQL)


def test_major_of_server_versions() -> None:
    assert pinned.major_of("18.1") == 18
    assert pinned.major_of("15.14 (Debian 15.14-0+deb12u1)") == 15
    assert pinned.major_of("") is None
    assert pinned.major_of(None) is None


def test_the_fixtures_name_the_plan_as_the_rehearsal_writes_it() -> None:
    """drift.fixtures names the file without importing the rehearsal (a check needs neither)."""
    from gordon_migrate.drift import fixtures

    assert fixtures.LOCKPLAN_FILE == pinned.FILE
