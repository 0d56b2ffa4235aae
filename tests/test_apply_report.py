"""The report of a run read back: by ``diagnose --apply-log`` (and the TUI, in test_tui_report)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from gordon_migrate.core import bundle
from gordon_migrate.testing import GordonDatabase, TestServer
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
    # The engine's failed run, not the rehearsal's refusal: no rehearsal first.
    failed = cli("apply", *args, "--static-plan", "--report", str(report))
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


def test_the_report_of_a_bundled_apply_reads_the_pinned_measured_plan(
    gordon_empty_db: GordonDatabase, gordon_server: TestServer, tmp_path: Path
) -> None:
    """Every bundled migration's locks come from the pinned plan, measured on this server's
    major: the run lints nothing (the gate skips reviewed files, the report reads JSON)."""
    report = tmp_path / "apply.json"
    argv = ["apply", "--database-url", gordon_empty_db.dsn, "--report", str(report)]
    code = (
        "import sys\n"
        "from gordon_migrate.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "assert 'gordon_migrate.lint.analyze' not in sys.modules, 'linted for the report'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    written = json.loads(report.read_text())
    assert written["plan"] == "measured"
    assert len(written["migrations"]) == len(bundle.load())
    plans = {(m["plan"], m["plan_server_major"]) for m in written["migrations"]}
    assert plans == {("measured", gordon_server.version)}
    (build,) = [m for m in written["migrations"] if m["version"] == 35]
    assert build["statements"][0]["locks"] == [
        {
            "relation": "trading.fills",
            "mode": "ShareUpdateExclusiveLock",
            "blocks": "neither",
            "work": "scan",
            "new_relation": False,
            "kind": "table",
            "via": None,
        }
    ]


def test_a_migration_the_pinned_plan_does_not_have_gets_the_static_plan(
    cli: CliRunner, gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    """A --migrations-dir bundle: the bundled files are pinned, the extra one is not; judged
    by --static-plan it gets lint's static plan (rehearsed, it gets the measured one:
    tests/test_rehearse_on_the_fly.py)."""
    root = tmp_path / "migrations"
    root.mkdir()
    for migration in bundle.load():
        shutil.copy(migration.path, root / migration.filename)
    (root / "0039_fills_note.sql").write_text("ALTER TABLE trading.fills ADD COLUMN note text;\n")
    report = tmp_path / "apply.json"
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    assert cli("apply", *args, "--static-plan", "--report", str(report)).code == 0
    written = json.loads(report.read_text())
    assert written["plan"] == "mixed"
    *pinned, extra = written["migrations"]
    assert {m["plan"] for m in pinned} == {"measured"}
    assert (extra["version"], extra["plan"], extra["plan_server_major"]) == (39, "static", None)
    assert extra["plan_provenance"] == "guessed"
    assert extra["statements"][0]["locks"] == [
        {
            "relation": "trading.fills",
            "mode": "AccessExclusiveLock",
            "blocks": "reads and writes",
            "work": "none",
            "new_relation": False,
            "kind": "relation",
            "via": None,
        }
    ]
