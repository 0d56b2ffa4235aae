"""diagnose and its probes against a real server: healthy, unreachable, partly configured,
each probe alone (as the TUI runs them), read-only, and what it prints."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from gordon_migrate.core import dsn, settings
from gordon_migrate.recovery import probes
from gordon_migrate.testing import GordonDatabase
from tests.support import recovery as rh
from tests.support.cli import CliRunner
from tests.support.sql import db_state


def _target(url: str, connect_timeout_s: int = 10) -> probes.Target:
    run = settings.Target(dsn=dsn.parse(url), bundle=tuple(rh.BUNDLE))
    return probes.Target(run, connect_timeout_s=connect_timeout_s)


def test_healthy_database_passes_every_step(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    result = cli("diagnose", "--database-url", gordon_db.dsn)
    assert result.code == 0, result.out
    lines = result.out.splitlines()
    assert lines[0] == f"gordon-migrate diagnose of {dsn.parse(gordon_db.dsn).redacted}"
    steps = [int(line.split()[0]) for line in lines[1:-1] if line[:3].strip().isdigit()]
    assert steps == list(range(1, len(probes.PROBES) + 1))
    assert "  1  -        read the error line: not run: no apply log given" in result.out
    assert lines[-1] == "healthy: every step passes; apply has nothing to refuse"


def test_json_names_steps_probes_and_sections(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    payload = rh.diagnose_json(cli, "--database-url", gordon_db.dsn)
    assert payload["ok"] is True
    assert payload["failure_modes"] == []
    assert [s["probe"] for s in payload["steps"]] == [p.name for p in probes.PROBES]
    history = rh.step(payload, "history")
    assert history == {
        "step": 6,
        "probe": "history",
        "title": "the history is consistent",
        "status": "ok",
        "summary": (
            f"{len(rh.BUNDLE)} applied, 0 pending, none dirty, edited or unknown to the bundle"
        ),
        "details": [],
        "failure_modes": [],
        "runbook_section": "Step 6: the history is consistent",
        "commands": [],
    }


def test_each_probe_runs_alone_in_its_own_thread(gordon_db: GordonDatabase) -> None:
    target = _target(gordon_db.dsn)
    with ThreadPoolExecutor(max_workers=len(probes.PROBES)) as pool:
        results = list(pool.map(lambda p: p.run(target), probes.PROBES))
    assert [r.name for r in results] == [p.name for p in probes.PROBES]
    assert [r.status for r in results] == ["not_run"] + ["ok"] * (len(probes.PROBES) - 1)


def test_diagnose_changes_nothing(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        conn.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 35")
    before = db_state(gordon_db.dsn)
    result = cli("diagnose", "--database-url", gordon_db.dsn, "--format", "json")
    assert result.code == 1
    assert json.loads(result.out)["failure_modes"] == ["FM-13"]
    assert db_state(gordon_db.dsn) == before, "no audit table, no history change"


def _accepted(listener: socket.socket) -> int:
    """How many connections reached ``listener`` since the last call (each is then dropped)."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_unreachable_server_skips_the_other_steps_without_a_timeout_each() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        target = _target(
            f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/gordon",
            connect_timeout_s=1,
        )
        results = probes.run_probes(target)
        all_steps = _accepted(silent)
        alone = probes.probe("history").run(target)
        one_step = _accepted(silent)
    # Counted, not timed: every step after the failed connect reuses its outcome.
    assert all_steps == one_step >= 1, "one connection attempt for the run, not one per step"
    by_name = {r.name: r for r in results}
    assert by_name["connect"].status == "problem"
    assert by_name["connect"].failure_modes == ("FM-05",)
    for name in ("primary", "privileges", "history", "migration_lock", "pending", "drift"):
        assert by_name[name].summary == "not run: no connection (step 3 failed)", name
    assert alone.status == "not_run"
    assert alone.summary.startswith("not run: cannot connect (step 3): cannot connect to ")


def test_no_database_url_and_a_broken_bundle_are_step_2(tmp_path: Path) -> None:
    for name in ("0039_a.sql", "0039_b.sql"):
        (tmp_path / name).write_text("SELECT 1;\n")
    # No --database-url and no DATABASE_URL; two migrations of one version.
    run = settings.resolve_target(settings.Settings(migrations_dir=tmp_path, environ={}))
    target = probes.Target(run)
    results = {r.name: r for r in probes.run_probes(target)}
    assert results["config"].status == "problem"
    assert results["config"].failure_modes == ("FM-01", "FM-03")
    assert results["config"].details == (
        "duplicate migration version 39: 0039_a.sql and 0039_b.sql; every version must be unique",
    )
    assert results["connect"].summary == "not run: no database URL (step 2)"
    assert all(r.status != "ok" for r in results.values())


def test_runtime_role_is_named_and_the_history_step_says_why_it_cannot_run(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    payload = rh.diagnose_json(cli, "--database-url", gordon_db.dsn_as("gordon_api"))
    privileges = rh.step(payload, "privileges")
    assert privileges["status"] == "problem"
    assert privileges["summary"].startswith(
        f"role gordon_api cannot migrate database {gordon_db.name}"
    )
    assert [m["id"] for m in privileges["failure_modes"]] == ["FM-12"]
    history = rh.step(payload, "history")
    assert history["status"] == "not_run"
    assert history["summary"].startswith("not run: cannot read the history: ")


def test_text_names_failure_modes_sections_and_next_commands(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    with gordon_db.connect() as conn:
        conn.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 35")
    result = cli("diagnose", "--database-url", gordon_db.dsn)
    assert result.code == 1
    assert "  6  PROBLEM  the history is consistent: migration 0035" in result.out
    assert "failure mode FM-13 dirty migration: docs/spof-runbook.md\n" in result.out
    assert "next: gordon-migrate status" in result.out
    assert "  9  -        no migration is pending: not run: the history is inconsistent" in (
        result.out
    )
    assert result.out.splitlines()[-1].startswith("UNHEALTHY: 1 problem(s) (step 6)")


def _error_line_step(db: GordonDatabase, log: str) -> dict[str, Any]:
    """``diagnose --apply-log -`` (exit 1) given ``log`` on stdin: its error-line step."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "gordon_migrate.cli", "diagnose", "--format", "json"),
            *("--database-url", db.dsn, "--apply-log", "-"),
        ],
        input=log,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return rh.step(json.loads(done.stdout), "error_line")


def test_apply_log_names_the_failure_mode_its_error_event_carries(
    gordon_db: GordonDatabase,
) -> None:
    # The field decides, not the text: this message quotes no symptom of the runbook.
    log = (
        '{"level": "error", "event": "migration 0039 (0039_x.sql) line 1: something new", '
        '"kind": "migration", "version": 39, "failure_mode": "FM-18"}\n'
    )
    line = _error_line_step(gordon_db, log)
    assert [m["id"] for m in line["failure_modes"]] == ["FM-18"]


def test_apply_log_from_stdin_names_the_failure_mode(gordon_db: GordonDatabase) -> None:
    # A JSON line without fields (written by a gordon-migrate older than them): its symptom.
    log = (
        '{"level": "info", "event": "applying migration"}\n'
        '{"level": "error", "event": "migration 0039 (0039_x.sql) line 1 was cancelled by '
        'statement_timeout=200ms (SQLSTATE 57014: canceling statement)", "kind": "migration"}\n'
    )
    line = _error_line_step(gordon_db, log)
    assert [m["id"] for m in line["failure_modes"]] == ["FM-18"]
    assert line["details"][0].startswith("migration 0039 (0039_x.sql) line 1 was cancelled")


def test_bad_blocker_age_is_one_line(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    result = cli("diagnose", "--database-url", gordon_db.dsn, "--blocker-age", "soon")
    assert result.code == 1
    assert "--blocker-age: 'soon' is not a duration" in result.error_line


def test_the_old_lock_timeout_spelling_still_sets_the_blocker_age(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    """`diagnose --lock-timeout` never was a lock_timeout: it still works, and says so."""
    holder = psycopg.connect(gordon_db.dsn, autocommit=True, application_name="old-spelling")
    try:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE trading.fills IN ACCESS SHARE MODE")
        time.sleep(0.5)
        old = cli("diagnose", "--database-url", gordon_db.dsn, "--lock-timeout", "200ms")
        new = cli("diagnose", "--database-url", gordon_db.dsn, "--blocker-age", "200ms")
        default = cli("diagnose", "--database-url", gordon_db.dsn)
    finally:
        holder.close()
    assert "--lock-timeout is deprecated: it is the blocker age, use --blocker-age" in old.err
    assert "deprecated" not in new.err
    assert "old-spelling" in old.out and "old-spelling" in new.out
    assert "old-spelling" not in default.out  # 0.5 s is younger than the default 5 s
    assert "no transaction has held a lock on a Gordon table for 5s or more (--blocker-age)" in (
        default.out
    )
    assert "have held locks on Gordon tables for 200ms or more" in new.out
    assert "lock_timeout" not in old.out + new.out + default.out
