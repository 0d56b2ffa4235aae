"""Lint's lock rules over measured facts (issue 24 item 2): given what a rehearsal measured of a
statement (``lint --database-url``, ``apply --dry-run``, ``apply``), a rule's hit stands only
when the server did what the rule says (rewrote, scanned, held the lock) and says so; and
``blocking-work`` reports a rewrite or a scan under a blocking lock no rule for the
statement's form named. Plain ``lint`` (no server) keeps its static judgement. Each test is
the 38 bundled migrations plus one new file, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg

from gordon_migrate.core import bundle
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner

BUNDLE = bundle.load()
NEXT = f"{len(BUNDLE) + 1:04d}"


def _bundle_plus(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    (root / f"{NEXT}_{name}.sql").write_text(text, encoding="utf-8")
    return root


def _grow_fills(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no intents needed
        conn.execute(
            "INSERT INTO trading.fills (intent_id, venue_fill_id, price, quantity, fee_asset, "
            "liquidity, filled_at) SELECT g, 'v' || g, 1, 1, 'USD', 'maker', now() "
            "FROM generate_series(1, %s) g",
            (rows,),
        )
        conn.execute("ANALYZE trading.fills")


def _findings(out: str, rule: str) -> list[dict[str, object]]:
    payload = json.loads(out)
    return [f for f in payload["findings"] if f["rule"] == rule]


def test_a_rewrite_the_server_does_is_confirmed_by_the_rehearsal(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """A scale change of a numeric column rewrites the table: the static finding stands, and
    with a server it says the rehearsal saw it."""
    root = _bundle_plus(
        tmp_path, "fee_scale", "ALTER TABLE trading.fills ALTER COLUMN fee TYPE numeric(30,12);\n"
    )
    args = ("lint", "--migrations-dir", str(root), "--format", "json")
    static = cli(*args)
    assert static.code == 1
    (finding,) = _findings(static.out, "alter-column-type")
    assert "rehearsal" not in str(finding["message"])
    measured = cli(*args, "--database-url", gordon_db.dsn)
    (finding,) = _findings(measured.out, "alter-column-type")
    assert "(rehearsal: rewrote it)" in str(finding["message"]), finding
    assert finding["severity"] == "warning"  # the target's fills is empty: scaled
    assert not _findings(measured.out, "blocking-work"), "said once, by the rule of its form"


def test_a_rewrite_the_server_does_not_do_is_no_finding_with_a_server(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """The static walk cannot know the type of a column added by DDL it cannot see (a DO
    block), so it cannot prove varchar(10) -> varchar(20) binary-coercible and reports a
    rewrite; the rehearsal saw the server keep the table's file: no such finding."""
    text = (
        "DO $$ BEGIN EXECUTE 'ALTER TABLE trading.fills ADD COLUMN memo varchar(10)'; END $$;\n"
        "ALTER TABLE trading.fills ALTER COLUMN memo TYPE varchar(20);\n"
    )
    root = _bundle_plus(tmp_path, "memo", text)
    args = ("lint", "--migrations-dir", str(root), "--format", "json")
    (static,) = _findings(cli(*args).out, "alter-column-type")
    assert static["line"] == 2
    measured = cli(*args, "--database-url", gordon_db.dsn)
    assert not _findings(measured.out, "alter-column-type"), measured.out
    assert not _findings(measured.out, "blocking-work"), measured.out
    # The DO block's own ADD COLUMN is still judged, by what the rehearsal saw it lock.
    (hidden,) = _findings(measured.out, "hidden-ddl")
    assert "ACCESS EXCLUSIVE on trading.fills" in str(hidden["message"])


def test_blocking_work_no_rule_knows_is_reported_from_what_the_server_did(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """A column's collation changed: the table's rows keep their bytes, so no rule written for
    type changes fires, but the unique index on the column is rebuilt, scanning the table
    under ACCESS EXCLUSIVE. The server shows it; no static rule knows it."""
    statement = 'ALTER TABLE trading.fills ALTER COLUMN venue_fill_id TYPE text COLLATE "C";\n'
    root = _bundle_plus(tmp_path, "collate", statement)
    args = ("lint", "--migrations-dir", str(root), "--format", "json")
    static = cli(*args)
    assert static.code == 0, static.out
    assert not _findings(static.out, "blocking-work")
    _grow_fills(gordon_db.dsn, 20_000)  # past the small-table line: an error, not a warning
    measured = cli(*args, "--database-url", gordon_db.dsn)
    assert measured.code == 1, measured.out
    (finding,) = _findings(measured.out, "blocking-work")
    assert finding["relation"] == "trading.fills" and finding["line"] == 1
    assert "scanned existing table trading.fills while holding ACCESS EXCLUSIVE" in str(
        finding["message"]
    )
    text = cli("lint", "--migrations-dir", str(root), "--database-url", gordon_db.dsn)
    assert f"{NEXT}_collate.sql:1:1  blocking-work  " in text.out, text.out
    # Waived on the statement with a reason, it passes.
    waiver = "-- gordon:allow blocking-work fills is empty until the venue goes live\n"
    (root / f"{NEXT}_collate.sql").write_text(waiver + statement, encoding="utf-8")
    assert cli(*args, "--database-url", gordon_db.dsn).code == 0


def test_the_dry_run_shows_what_the_rehearsal_measured_a_cascade_included(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """``DROP FUNCTION ... CASCADE`` of the NOTIFY trigger function: the text names one
    function; the server dropped its seven triggers too, under ACCESS EXCLUSIVE on each of
    their tables. The dry run lists what was measured, not the static guess."""
    root = _bundle_plus(tmp_path, "dropfn", "DROP FUNCTION trading.ipc_notify_trigger() CASCADE;\n")
    args = ("apply", "--dry-run", "--migrations-dir", str(root), "--database-url", gordon_db.dsn)
    text = cli(*args)
    assert text.code == 1, text.out  # the dropped triggers break the access contract
    assert f"{NEXT}_dropfn.sql: rehearsed just now on PostgreSQL" in text.out
    assert "    line 1: ACCESS EXCLUSIVE on trading.fills, blocks reads and writes" in text.out
    assert "lock plan (statement:" not in text.out, "a measured plan is not shown as a guess"
    (drops,) = [line for line in text.out.splitlines() if line.startswith("    line 1: drops ")]
    assert "function trading.ipc_notify_trigger()" in drops
    assert "trigger fills_notify on table trading.fills" in drops
    payload = json.loads(cli(*args, "--format", "json").out)
    (plan,) = payload["plans"]
    (statement,) = plan["statements"]
    assert statement["line"] == 1
    assert "trigger outbox_notify on table bus.outbox" in statement["dropped"]
    assert {"object": "trading.fills", "kind": "table", "mode": "ACCESS EXCLUSIVE"} in statement[
        "locks"
    ]


def test_work_on_a_table_the_migration_created_is_not_blocking_work(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """A table the migration creates, then indexes: the index build scans it under SHARE,
    but nobody else can see the table yet, so that blocks no one."""
    text = (
        "CREATE TABLE trading.run_marks (run_id bigint, mark text);\n"
        "REVOKE ALL ON trading.run_marks FROM PUBLIC;\n"
        "CREATE INDEX run_marks_run_id ON trading.run_marks (run_id);\n"
    )
    root = _bundle_plus(tmp_path, "marks", text)
    args = ("lint", "--migrations-dir", str(root), "--format", "json")
    measured = cli(*args, "--database-url", gordon_db.dsn)
    assert measured.code == 0, measured.out
    ours = [f for f in json.loads(measured.out)["findings"] if f["file"] == f"{NEXT}_marks.sql"]
    assert ours == [], ours
