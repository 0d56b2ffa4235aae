"""Real processes: N runners at once, and a runner whose backend is killed mid-migration."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from gordon_migrate.testing import GordonDatabase
from tests.support.cli import Bundle, run_process
from tests.support.sql import db_state, versions

RUNNERS = 4


def test_runners_started_at_once_apply_each_migration_exactly_once(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    bundled = Path(__file__).resolve().parent.parent / "migrations"
    root = bundle_dir(
        {m.name: m.read_text() for m in sorted(bundled.glob("*.sql"))}
        | {"0039_count_runs.sql": "CREATE TABLE public.apply_count AS SELECT 1 AS applied;\n"}
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gordon_migrate.cli",
                "apply",
                "--database-url",
                gordon_empty_db.dsn,
                "--migrations-dir",
                str(root),
                "--log-format",
                "json",
                "--format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(RUNNERS)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * RUNNERS, [err for _, err in outputs]
    applied_counts = sorted(len(json.loads(out)["applied"]) for out, _ in outputs)
    assert applied_counts == [0] * (RUNNERS - 1) + [39], "exactly one runner did the work"
    assert versions(gordon_empty_db.dsn) == list(range(1, 40))
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM public.apply_count").fetchone() == (1,)


def test_backend_terminated_mid_migration_loses_nothing_and_next_run_completes(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            "0001_fault_switch.sql": "CREATE TABLE fault_switch (armed boolean NOT NULL);\n"
            "INSERT INTO fault_switch VALUES (TRUE);\n",
            "0002_slow_patch.sql": "CREATE TABLE positions_archive (id bigint PRIMARY KEY);\n"
            "SELECT pg_sleep(60) FROM fault_switch WHERE armed;\n",
            "0003_after.sql": "CREATE TABLE after_slow (id int);\n",
        }
    )
    # The engine's lost connection is under test: no rehearsal (of the slow patch) first.
    args = ["apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root)]
    args.append("--static-plan")
    runner = subprocess.Popen(
        [sys.executable, "-m", "gordon_migrate.cli", *args, "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as observer:
        pid = None
        deadline = time.monotonic() + 30
        while pid is None and time.monotonic() < deadline:
            row = observer.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE application_name LIKE 'gordon-migrate apply #%'"
                " AND query LIKE '%pg_sleep%' AND datname = current_database()"
            ).fetchone()
            pid = row[0] if row else None
            time.sleep(0.05)
        assert pid is not None, "the runner never reached the slow migration"
        observer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        code = runner.wait(timeout=30)
        _, err = runner.communicate()
        assert code == 1
        assert "lost the connection to" in err
        assert "while applying migration 0002 (0002_slow_patch.sql)" in err
        assert "was rolled back (no history row): nothing of it was applied" in err
        assert versions(gordon_empty_db.dsn) == [1]
        assert not any("positions_archive" in o for o in db_state(gordon_empty_db.dsn).objects)
        observer.execute("UPDATE fault_switch SET armed = FALSE")
    rerun = run_process(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert versions(gordon_empty_db.dsn) == [1, 2, 3]
