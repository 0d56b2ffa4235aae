"""The command line as deploys and operators meet it: logs, exit codes, the embedded quickstart."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.core import bundle
from gordon_migrate.core.settings import Settings, log_level
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner, error_event, run_process


def test_logs_are_json_lines_on_stderr_and_results_on_stdout(
    cli: CliRunner, gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    (tmp_path / "0001_t.sql").write_text("CREATE TABLE t (id int);\n")
    result = cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(tmp_path))
    assert result.code == 0
    events = [json.loads(line) for line in result.err.splitlines()]
    # After the rehearsal's two lines (the file is not pinned) and the run's first.
    assert events[0]["event"].startswith("rehearsing 0001_t.sql")
    assert {"event": "migration applied", "migration": "0001_t.sql"}.items() <= events[3].items()
    assert all({"level", "timestamp", "event"} <= e.keys() for e in events)
    assert result.out.startswith(f"database {gordon_empty_db.name} on PostgreSQL")


def test_expected_failure_is_one_line_without_traceback_unless_debug(cli: CliRunner) -> None:
    url = "postgresql://u:hunter22secret@127.0.0.1:9/x"
    quiet = cli("apply", "--database-url", url)
    assert quiet.code == 1
    assert quiet.err.count("\n") == 1
    assert "Traceback" not in quiet.err
    loud = cli("apply", "--database-url", url, "--log-level", "debug")
    assert loud.code == 1
    assert "Traceback" in loud.err
    assert "hunter22secret" not in loud.err + quiet.err


def test_json_format_reports_failures_on_stdout_too(cli: CliRunner) -> None:
    result = cli("apply", "--format", "json", "--database-url", "postgresql://u@127.0.0.1:9/x")
    assert result.code == 1
    message = json.loads(result.out)["error"]["message"]
    assert json.loads(result.out) == {
        "ok": False,
        "error": {"kind": "connect", "message": message, "failure_mode": "FM-04"},
    }
    # The JSON log line on stderr (not a terminal) carries the same fields.
    event = json.loads(result.err.strip().splitlines()[-1])
    assert (event["level"], event["kind"], event["failure_mode"]) == ("error", "connect", "FM-04")


def test_json_error_names_the_migration_file_line_and_failure_mode(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(bundle.bundled_dir(), migrations)
    (migrations / "0039_broken.sql").write_text("SELECT 1;\nSELECT * FROM no_such_table;\n")
    result = cli(
        "apply",
        "--format",
        "json",
        "--database-url",
        gordon_db.dsn,
        "--migrations-dir",
        str(migrations),
    )
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert {k: error[k] for k in ("kind", "version", "file", "line", "sqlstate")} == {
        "kind": "migration",
        "version": 39,
        "file": "0039_broken.sql",
        "line": 2,
        "sqlstate": "42P01",
    }
    assert error["failure_mode"] == "FM-19"


@pytest.mark.parametrize(
    ("env", "level"),
    [
        ({}, "info"),
        ({"RUST_LOG": "debug"}, "debug"),
        ({"RUST_LOG": "sqlx=warn,gordon_migrate=debug"}, "debug"),
        ({"RUST_LOG": "warn"}, "warning"),
        ({"LOG_LEVEL": "error", "RUST_LOG": "debug"}, "error"),
    ],
)
def test_log_level_honours_rust_log_for_old_deploys(env: dict[str, str], level: str) -> None:
    assert log_level(Settings(environ=env)) == level


def test_bad_option_values_exit_1(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    assert (
        "is not a duration"
        in cli("apply", "--database-url", gordon_db.dsn, "--lock-timeout", "soon").err
    )
    assert cli("apply", "--database-url", gordon_db.dsn, "--log-level", "loud").code == 1
    assert cli("apply", "--no-such-option").code == 1


def test_application_name_identifies_the_tool(gordon_db: GordonDatabase) -> None:
    from gordon_migrate.core import db, dsn

    with db.connect(dsn.parse(gordon_db.dsn), purpose="status") as conn:
        row = conn.execute("SHOW application_name").fetchone()
    assert row == ("gordon-migrate status",)


def test_subprocess_exit_codes(gordon_db: GordonDatabase) -> None:
    ok = run_process("--database-url", gordon_db.dsn)
    assert ok.returncode == 0, ok.stderr
    assert "up to date" in ok.stdout
    missing = run_process("status")
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert error_event(missing.stderr).startswith("no database given")
    human = run_process("status", "--log-format", "console")
    assert human.stderr.startswith("gordon-migrate: error: no database given")


def test_embedded_quickstart_applies_the_bundle_and_reuses_the_server(tmp_path: Path) -> None:
    env = {
        "GORDON_EMBEDDED_DIR": str(tmp_path / "pg"),
        "GORDON_EMBEDDED_PG": os.environ.get("GORDON_TEST_PG_VERSION", "18"),
    }
    first = run_process("--embedded", "--format", "json", env=env)
    try:
        assert first.returncode == 0, first.stderr
        assert len(json.loads(first.stdout)["applied"]) == 38
        second = run_process("--embedded", "status", env=env)
        assert second.returncode == 0, second.stderr
        assert "38 applied" in second.stdout
        url = run_process("embedded", "url", env=env)
        assert url.returncode == 0, url.stderr
        assert url.stdout.startswith("postgresql://postgres@/gordon?host=%2F"), url.stdout
        with psycopg.connect(url.stdout.strip()) as conn:
            row = conn.execute("SELECT current_database()::text").fetchone()
        assert row == ("gordon",)
    finally:
        stop = run_process("embedded", "stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert f"stopped the embedded server of {(tmp_path / 'pg').resolve()}" in stop.stdout
    assert not (tmp_path / "pg" / "postmaster.pid").exists(), "embedded stop stopped the server"
