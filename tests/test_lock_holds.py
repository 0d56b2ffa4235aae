"""The lock-hold budget: apply refuses, before any lock, a statement predicted to hold a lock
that blocks the services across a rewrite or a scan of a large table for longer than its
budget; a header budget, a CLI budget or a waiver lets it through; the dry run shows it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.core import bundle
from gordon_migrate.recovery import runbook
from gordon_migrate.rehearse import cost
from gordon_migrate.testing import GordonDatabase, TestServer, unique_name
from tests.support.cli import CliRunner

BUNDLE = bundle.load()
NEXT = f"{len(BUNDLE) + 1:04d}"
# A rewrite of int -> bigint under ACCESS EXCLUSIVE; lint's own alter-column-type error is
# waived so that the gate under test is the lock-hold budget's.
LINT_WAIVER = "-- gordon:allow alter-column-type the lock-hold budget is under test\n"
REWRITE = "ALTER TABLE public.lock_probe ALTER COLUMN n TYPE bigint;\n"
ROWS = 800_000
# public.lock_probe is made outside the migrations (its rows are the point): a rehearsal, which
# replays the migrations on a scratch, would not find it. These tests judge the plan the
# operator asks for with --static-plan, lint's guess; tests/test_rehearse_on_the_fly.py has the
# gate on a rehearsed plan.
STATIC = "--static-plan"


@pytest.fixture(scope="module")
def grown(gordon_server: TestServer, gordon_template: str) -> Iterator[str]:
    """A template: the migrated schema with public.lock_probe grown to ~125 MB and a small
    public.lock_small."""
    name = unique_name("gordon_grown")
    gordon_server.create_database(name, gordon_template)
    try:
        with psycopg.connect(gordon_server.dsn_for(name), autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE public.lock_probe (id int PRIMARY KEY, n int NOT NULL, note text)"
            )
            conn.execute(
                "INSERT INTO public.lock_probe SELECT g, g, repeat(md5(g::text), 3) "
                "FROM generate_series(1, %s) g",
                (ROWS,),
            )
            conn.execute("CREATE TABLE public.lock_small (id int PRIMARY KEY, n int NOT NULL)")
            conn.execute("INSERT INTO public.lock_small SELECT g, g FROM generate_series(1, 10) g")
        gordon_server.seal_template(name)
        yield name
    finally:
        gordon_server.drop_database(name)


@pytest.fixture
def db(gordon_server: TestServer, grown: str) -> Iterator[GordonDatabase]:
    name = unique_name("gordon_test")
    gordon_server.create_database(name, grown)
    try:
        yield GordonDatabase(name=name, dsn=gordon_server.dsn_for(name), server=gordon_server)
    finally:
        gordon_server.drop_database(name)


def _bundle_plus(tmp_path: Path, sql: str, name: str = f"{NEXT}_probe.sql") -> Path:
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    (root / name).write_bytes(sql.encode())
    return root


def _state(db: GordonDatabase) -> tuple[int, str, int]:
    with psycopg.connect(db.dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM _sqlx_migrations), "
            "(SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            " WHERE attrelid = 'public.lock_probe'::regclass AND attname = 'n'), "
            "(SELECT count(*) FROM public.lock_probe)"
        ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1]), int(row[2])


def test_the_probe_is_over_the_default_budget() -> None:
    """The tests below need a table whose rewrite is predicted over 1 s with the pinned
    throughput: ~125 MB at tens of MB/s."""
    throughput = cost.load()
    assert throughput is not None, "fixtures/throughput.json: rehearse --measure-throughput"
    assert cost.predict("rewrite", 120 * 2**20, throughput).over(cost.DEFAULT_BUDGET_MS)


def test_apply_refuses_a_long_rewrite_and_runs_nothing(
    cli: CliRunner, tmp_path: Path, db: GordonDatabase
) -> None:
    root = _bundle_plus(tmp_path, LINT_WAIVER + REWRITE)
    before = _state(db)
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    assert result.code == 1, result.out
    line = result.error_line
    assert f"migration {NEXT}_probe.sql:2: long-lock: rewrites public.lock_probe (" in line
    assert line.count(f"{NEXT}_probe.sql:2") == 1 and " MB) under ACCESS EXCLUSIVE" in line
    assert "predicted hold " in line and "over the budget 1s" in line
    assert "(GUESSED: static plan, not rehearsed)" in line
    assert "batch it" in line and "-- gordon:allow long-lock <reason>" in line
    assert "Nothing was run" in line
    assert [mode.id for mode in runbook.load().match(line)] == ["FM-34"]
    assert _state(db) == before == (len(BUNDLE), "integer", ROWS)


def test_a_header_budget_lets_it_through(
    cli: CliRunner, tmp_path: Path, db: GordonDatabase
) -> None:
    root = _bundle_plus(tmp_path, "-- gordon:lock-hold-budget 10min\n" + LINT_WAIVER + REWRITE)
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    assert result.code == 0, result.err
    assert _state(db) == (len(BUNDLE) + 1, "bigint", ROWS)


def test_a_waiver_on_the_statement_lets_it_through(
    cli: CliRunner, tmp_path: Path, db: GordonDatabase
) -> None:
    sql = LINT_WAIVER + "-- gordon:allow long-lock the probe is taken offline first\n" + REWRITE
    root = _bundle_plus(tmp_path, sql)
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    assert result.code == 0, result.err
    assert _state(db) == (len(BUNDLE) + 1, "bigint", ROWS)


def test_the_cli_budget_decides(cli: CliRunner, tmp_path: Path, db: GordonDatabase) -> None:
    root = _bundle_plus(tmp_path, LINT_WAIVER + REWRITE)
    args = ("apply", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    tight = cli(*args, "--lock-hold-budget", "1ms", "--dry-run")
    assert tight.code == 1
    result = cli(*args, "--lock-hold-budget", "10min")
    assert result.code == 0, result.err
    assert _state(db) == (len(BUNDLE) + 1, "bigint", ROWS)


def test_a_small_table_and_a_concurrent_build_pass(
    cli: CliRunner, tmp_path: Path, db: GordonDatabase
) -> None:
    root = _bundle_plus(tmp_path, "ALTER TABLE public.lock_small ALTER COLUMN n TYPE bigint;\n")
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    assert result.code == 0, result.err
    # SHARE UPDATE EXCLUSIVE blocks no reader and no writer: never refused, however large.
    (root / f"{len(BUNDLE) + 2:04d}_index.sql").write_bytes(
        b"-- no-transaction\nCREATE INDEX CONCURRENTLY lock_probe_n ON public.lock_probe (n);\n"
    )
    args = ("apply", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    dry = cli(*args, "--dry-run", "--lock-hold-budget", "1ms")
    assert dry.code == 0, dry.out
    assert "lock holds" not in dry.out
    result = cli(*args, "--lock-hold-budget", "1ms")
    assert result.code == 0, result.err


def test_dry_run_shows_the_prediction_and_exits_1(
    cli: CliRunner, tmp_path: Path, db: GordonDatabase
) -> None:
    root = _bundle_plus(tmp_path, LINT_WAIVER + REWRITE)
    args = ("apply", "--dry-run", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    result = cli(*args)
    assert result.code == 1, result.out
    assert "lock holds (predicted from the target's sizes):" in result.out
    assert f"REFUSED {NEXT}_probe.sql:2 rewrites public.lock_probe (" in result.out
    as_json = cli(*args, "--format", "json")
    assert as_json.code == 1
    payload = json.loads(as_json.out)
    assert payload["ok"] is False
    [hold] = payload["lock_holds"]
    assert (hold["relation"], hold["mode"], hold["work"], hold["refused"]) == (
        "public.lock_probe",
        "ACCESS EXCLUSIVE",
        "rewrite",
        True,
    )
    low, central, high = (hold["predicted_s"][k] for k in ("low", "central", "high"))
    assert low < central < high and central > 1
    assert hold["measured"] is False and hold["provenance"]["kind"] == "guessed"
    waived = _bundle_plus(
        tmp_path / "waived", LINT_WAIVER + "-- gordon:allow long-lock offline\n" + REWRITE
    )
    fine = cli(
        "apply", "--dry-run", "--database-url", db.dsn, "--migrations-dir", str(waived), STATIC
    )
    assert fine.code == 0, fine.out
    assert "waived: offline" in fine.out
    assert _state(db) == (len(BUNDLE), "integer", ROWS)


def test_lint_with_a_database_shows_the_same_prediction(
    cli: CliRunner, tmp_path: Path, db: GordonDatabase
) -> None:
    draft = tmp_path / f"{NEXT}_probe.sql"
    draft.write_bytes((LINT_WAIVER + REWRITE).encode())
    result = cli("lint", "--database-url", db.dsn, STATIC, str(draft))
    assert result.code == 0, result.out  # lint's own finding is waived; apply refuses
    assert f"REFUSED {NEXT}_probe.sql:2 rewrites public.lock_probe (" in result.out
    assert "over the budget 1s (GUESSED: static plan, not rehearsed)" in result.out
    as_json = cli("lint", "--format", "json", "--database-url", db.dsn, STATIC, str(draft))
    payload = json.loads(as_json.out)
    assert [h["relation"] for h in payload["lock_holds"]] == ["public.lock_probe"]
    static = cli("lint", str(draft))
    assert "lock holds" not in static.out, "no database, no sizes, no prediction"


def test_a_bundled_migration_is_judged_by_its_pinned_measured_plan(
    cli: CliRunner, gordon_empty_db: GordonDatabase
) -> None:
    """0022 adds a stored generated column to trading.equity: measured, it rewrites the table
    and its primary key under ACCESS EXCLUSIVE (fixtures/lockplan.json)."""
    from gordon_migrate.apply import engine
    from gordon_migrate.core import dsn

    engine.apply(dsn.parse(gordon_empty_db.dsn), [m for m in BUNDLE if m.version < 22])
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no run row needed
        conn.execute(
            "INSERT INTO trading.equity (run_id, recorded_at, equity, cash) "
            "SELECT 1, now() - g * interval '1 s', 1000, 1000 FROM generate_series(1, 200000) g"
        )
    # Between the scan at line 4 (~12 MB: ~10-20 ms at the pinned scan throughput) and the
    # rewrite at line 8 (heap and indexes: ~200-400 ms at the pinned rewrite throughput).
    args = ("apply", "--database-url", gordon_empty_db.dsn, "--lock-hold-budget", "100ms")
    result = cli(*args)
    assert result.code == 1, result.out
    line = result.error_line
    assert "migration 0022_equity_drawdown.sql:8: long-lock: rewrites trading.equity (" in line
    assert "under ACCESS EXCLUSIVE" in line
    assert "(measured on PostgreSQL " in line and " (pinned))" in line
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        row = conn.execute("SELECT max(version) FROM _sqlx_migrations").fetchone()
    assert row == (21,), "nothing was applied"
    done = cli("apply", "--database-url", gordon_empty_db.dsn, "--lock-hold-budget", "10min")
    assert done.code == 0, done.err


def test_the_throughput_is_measured_on_a_scratch(gordon_empty_db: GordonDatabase) -> None:
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        found = cost.measure(conn, 18, rows=20_000)
        left = conn.execute("SELECT to_regclass('gordon_throughput_probe')").fetchone()
    assert found.rewrite_bps > 0 and found.scan_bps > 0
    assert found.build_bps is not None and found.build_bps > 0
    assert found.server_major == 18 and found.measured_at.endswith("Z")
    assert left == (None,), "the probe table is dropped"


def test_a_non_concurrent_index_build_is_predicted_as_a_build(
    cli: CliRunner, gordon_empty_db: GordonDatabase
) -> None:
    """0010 builds an index on trading.order_intents under SHARE: measured, it scans the table
    and makes an index, so it is predicted with the build's throughput (a sort and an index
    written on top of the scan: several times a scan's time per byte), not the scan's."""
    from gordon_migrate.apply import engine
    from gordon_migrate.core import dsn

    engine.apply(dsn.parse(gordon_empty_db.dsn), [m for m in BUNDLE if m.version < 10])
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no run or instrument rows
        conn.execute(
            "INSERT INTO trading.order_intents (run_id, instrument_id, side, order_type, quantity) "
            "SELECT 1, g % 50, 'buy', 'market', 1 FROM generate_series(1, 50000) g"
        )
    throughput = cost.load()
    assert throughput is not None and throughput.build_bps is not None
    args = ("apply", "--dry-run", "--database-url", gordon_empty_db.dsn)
    result = cli(*args, "--lock-hold-budget", "1ms", "--format", "json")
    assert result.code == 1, result.out
    holds = json.loads(result.out)["lock_holds"]
    [hold] = [h for h in holds if h["file"] == "0010_order_intents_open_status_index.sql"]
    assert (hold["relation"], hold["mode"], hold["work"], hold["measured"]) == (
        "trading.order_intents",
        "SHARE",
        "build",
        True,
    )
    assert hold["predicted_s"]["central"] == pytest.approx(
        hold["bytes"] / throughput.build_bps, abs=0.001
    )
    text = cli(*args, "--lock-hold-budget", "1ms")
    assert "0010_order_intents_open_status_index.sql:4 builds an index on" in text.out
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        row = conn.execute("SELECT max(version) FROM _sqlx_migrations").fetchone()
    assert row == (9,), "nothing was applied"
