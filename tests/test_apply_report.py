"""The report of a run read back: by ``diagnose --apply-log`` (and the TUI, in test_tui_report)."""

from __future__ import annotations

import json
from pathlib import Path

from gordon_migrate.testing import GordonDatabase
from tests.support import recovery as rh
from tests.support.cli import Bundle, CliRunner

BASE = {
    "0001_create_accounts.sql": (
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(18,2));\n"
    ),
}


def test_diagnose_reads_the_failure_mode_of_a_failed_runs_report(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    root = bundle_dir({**BASE, "0002_broken.sql": "ALTER TABLE nowhere ADD COLUMN x int;\n"})
    report = tmp_path / "apply.json"
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    failed = cli("apply", *args, "--report", str(report))
    assert failed.code == 1
    written = json.loads(report.read_text())
    assert written["error"]["failure_mode"] == "FM-19"
    assert [m["outcome"] for m in written["migrations"]] == ["applied", "failed"]
    assert written["migrations"][1]["statements"][0]["sqlstate"] == "42P01"

    result = cli("diagnose", *args, "--format", "json", "--apply-log", str(report))
    assert result.code == 1
    step = rh.step(json.loads(result.out), "error_line")
    assert step["status"] == "problem"
    assert [m["id"] for m in step["failure_modes"]] == ["FM-19"]
    assert step["details"] == [failed.error_line]


def test_diagnose_reads_a_successful_runs_report_as_no_error(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    report = tmp_path / "apply.json"
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(bundle_dir(BASE)))
    assert cli("apply", *args, "--report", str(report)).code == 0
    result = cli("diagnose", *args, "--format", "json", "--apply-log", str(report))
    step = rh.step(json.loads(result.out), "error_line")
    assert step["status"] == "ok"
