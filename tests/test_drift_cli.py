"""drift-check as cron runs it: real processes, exit codes, textfile metrics, light imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner, error_event, run_process


def metrics(path: Path) -> dict[tuple[str, str], float]:
    """(sample name, check label or "") -> value."""
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            out[(sample.name, sample.labels.get("check", ""))] = sample.value
    return out


def test_subprocess_exit_codes(gordon_db: GordonDatabase) -> None:
    reader = gordon_db.dsn_as("gordon_drift_reader")
    clean = run_process("drift-check", "--database-url", reader)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no drift" in clean.stdout
    with gordon_db.connect() as conn:
        conn.execute("GRANT CREATE ON SCHEMA trading TO gordon_api")
    drifted = run_process("drift-check", "--database-url", reader)
    assert drifted.returncode == 1
    assert "grant on schema trading to gordon_api" in drifted.stdout
    unreachable = run_process("drift-check", "--database-url", "postgresql://u@127.0.0.1:9/x")
    assert unreachable.returncode == 1
    assert unreachable.stdout == ""
    assert error_event(unreachable.stderr).startswith("cannot connect to")
    no_target = run_process("drift-check")
    assert no_target.returncode == 1
    assert error_event(no_target.stderr).startswith("no database given")


def test_database_url_from_the_environment(gordon_db: GordonDatabase) -> None:
    done = run_process("drift-check", env={"DATABASE_URL": gordon_db.dsn_as("gordon_drift_reader")})
    assert done.returncode == 0, done.stderr


def test_metrics_file_on_success_and_on_drift(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "gordon_drift_check.prom"
    reader = gordon_db.dsn_as("gordon_drift_reader")
    assert cli("drift-check", "--database-url", reader, "--metrics-file", str(path)).code == 0
    first = metrics(path)
    assert first[("gordon_drift_check_up", "")] == 1
    assert first[("gordon_drift_check_ok", "")] == 1
    for check in ("schema", "grants", "column_grants", "notify"):
        assert first[("gordon_drift_check_passed", check)] == 1
        assert first[("gordon_drift_check_differences", check)] == 0
    completed = first[("gordon_drift_check_last_completed_timestamp_seconds", "")]
    assert completed == first[("gordon_drift_check_last_run_timestamp_seconds", "")]
    assert first[("gordon_drift_check_duration_seconds", "")] > 0
    assert f'database="{gordon_db.name}"' in path.read_text()

    with gordon_db.connect() as conn:
        conn.execute("GRANT DELETE ON trading.runs TO gordon_api")
        conn.execute("GRANT UPDATE (strategy) ON trading.runs TO gordon_api")
    assert cli("drift-check", "--database-url", reader, "--metrics-file", str(path)).code == 1
    second = metrics(path)
    assert second[("gordon_drift_check_up", "")] == 1
    assert second[("gordon_drift_check_ok", "")] == 0
    assert second[("gordon_drift_check_passed", "grants")] == 0
    assert second[("gordon_drift_check_differences", "grants")] == 1
    assert second[("gordon_drift_check_differences", "column_grants")] == 1
    assert second[("gordon_drift_check_passed", "schema")] == 1
    assert list(tmp_path.iterdir()) == [path], "no temporary file left behind"


def test_metrics_file_when_the_database_cannot_be_checked(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    """A broken cron must alert: up 0, and the last completed check is carried over."""
    path = tmp_path / "drift.prom"
    ok = cli("drift-check", "--database-url", gordon_db.dsn, "--metrics-file", str(path))
    assert ok.code == 0
    completed = metrics(path)[("gordon_drift_check_last_completed_timestamp_seconds", "")]
    gone = f"postgresql://postgres@127.0.0.1:9/{gordon_db.name}"  # nothing listens there
    failed = cli("drift-check", "--database-url", gone, "--metrics-file", str(path))
    assert failed.code == 1
    after = metrics(path)
    assert after[("gordon_drift_check_up", "")] == 0
    assert after[("gordon_drift_check_last_completed_timestamp_seconds", "")] == completed
    assert after[("gordon_drift_check_last_run_timestamp_seconds", "")] >= completed
    assert ("gordon_drift_check_ok", "") not in after
    assert f'database="{gordon_db.name}"' in path.read_text()


def test_metrics_file_without_any_previous_run(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "drift.prom"
    failed = cli(
        "drift-check",
        "--database-url",
        "postgresql://u@127.0.0.1:9/gordon",
        "--metrics-file",
        str(path),
    )
    assert failed.code == 1
    after = metrics(path)
    assert after[("gordon_drift_check_up", "")] == 0
    assert after[("gordon_drift_check_last_completed_timestamp_seconds", "")] == 0
    assert 'database="gordon"' in path.read_text()


def test_unwritable_metrics_file_is_exit_1(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "no" / "such" / "dir" / "drift.prom"
    result = cli("drift-check", "--database-url", gordon_db.dsn, "--metrics-file", str(path))
    assert result.code == 1
    assert result.error_line.startswith(f"cannot write the metrics file {path}")


def _loaded(imports: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` that a fresh interpreter has loaded once
    it imported ``imports`` (comma-separated)."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, {imports}; "
            f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = ast.literal_eval(probe.stdout.strip())
    return loaded


def test_apply_does_not_import_the_drift_package() -> None:
    assert (
        _loaded("gordon_migrate.cli", ("gordon_migrate.drift", "prometheus_client", "pglast")) == []
    )


def test_a_check_imports_nothing_of_the_fixture_builder() -> None:
    """The rehearsal's modules (the lock plan, pg_catalog's functions) build fixtures; a check
    only reads them: importing them cost every drift-check process ~7 ms."""
    imports = "gordon_migrate.cli.drift, gordon_migrate.drift.check, gordon_migrate.drift.render"
    assert _loaded(imports, ("gordon_migrate.rehearse",)) == []


def test_help_lists_the_commands() -> None:
    done = run_process("--help")
    assert done.returncode == 0
    assert "drift-check" in done.stdout
    assert "fixtures" in done.stdout
    update = run_process("fixtures", "update", "--help")
    assert update.returncode == 0
    assert "--check" in update.stdout
