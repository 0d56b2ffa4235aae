"""``tui --report FILE``: the report of a real run, driven headless with Textual's pilot."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Static

from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.report import ReportApp, summary
from tests.support.cli import Bundle, CliRunner

BUNDLE = {
    "0001_create_accounts.sql": (
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(18,2));\n"
        "INSERT INTO accounts VALUES (1, 10.00);\n"
    ),
    "0002_broken.sql": "ALTER TABLE nowhere ADD COLUMN x int;\n",
}


def _failed_run_report(
    cli: CliRunner, db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> Path:
    path = tmp_path / "apply.json"
    result = cli(
        "apply",
        "--database-url",
        db.dsn,
        "--migrations-dir",
        str(bundle_dir(BUNDLE)),
        "--report",
        str(path),
        # The report of a run the engine failed (a rehearsal would refuse it before any run).
        "--static-plan",
    )
    assert result.code == 1
    return path


def _text(app: ReportApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def test_the_viewer_shows_migrations_statements_and_the_error(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    report: dict[str, Any] = json.loads(
        _failed_run_report(cli, gordon_empty_db, bundle_dir, tmp_path).read_text()
    )
    app = ReportApp(report, "apply.json")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            summary = _text(app, "#summary")
            assert summary.startswith(f"apply of {gordon_empty_db.name}: failed")
            assert "error (FM-19): migration 0002 (0002_broken.sql) line 1 failed" in summary
            migrations: DataTable[Any] = app.query_one("#migrations", DataTable)
            assert migrations.row_count == 2
            statements: DataTable[Any] = app.query_one("#statements", DataTable)
            assert statements.row_count == 2  # 0001's two statements
            assert "RowExclusiveLock on public.accounts" in str(statements.get_row_at(1)[4])
            assert "line 1: CREATE TABLE accounts" in _text(app, "#detail-text")
            await pilot.press("down")
            await pilot.pause()
            assert statements.row_count == 1
            assert str(statements.get_row_at(0)[1]) == "failed"
            assert "line 1: ALTER TABLE nowhere ADD COLUMN x int" in _text(app, "#detail-text")
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


def test_tui_refuses_a_file_that_is_not_a_report(cli: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "apply.log"
    log.write_text('{"level": "info", "event": "apply complete"}\n')
    result = cli("tui", "--report", str(log))
    assert result.code == 1
    assert result.error_line == (
        f"tui --report {log}: not an `apply --report` file (a JSON object with "
        '"report": "gordon-migrate apply report"); nothing was shown'
    )
    missing = tmp_path / "nothing.json"
    result = cli("tui", "--report", str(missing))
    assert result.code == 1
    assert result.error_line.startswith(f"tui --report {missing}: cannot read it (")


def test_the_summary_says_where_the_locks_come_from() -> None:
    assert summary({"plan": "measured"}).split("\n")[1].endswith("; locks from the measured plan")
    assert summary({"plan": "static"}).split("\n")[1].endswith("; locks from the static plan")
    assert (
        summary({"plan": "mixed"})
        .split("\n")[1]
        .endswith("; locks from the measured plan (the static one for the migrations not pinned)")
    )
