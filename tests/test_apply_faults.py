"""Apply under faults, provoked for real: signals, a killed client, a silent network, a lost
reply to COMMIT, an old snapshot under CREATE INDEX CONCURRENTLY, many runners at once.

Each test asserts the exit code, the line, and what the server holds afterwards: no backend
of the runner, no lock, the history telling the truth.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from gordon_migrate.apply import engine, locks
from gordon_migrate.apply.state import CancelToken
from gordon_migrate.core import bundle
from gordon_migrate.core import dsn as dsn_module
from gordon_migrate.core.errors import InterruptedApplyError
from gordon_migrate.testing import GordonDatabase, TestServer, unique_name
from tests.support.cli import Bundle, CliRunner
from tests.support.netproxy import proxy_for
from tests.support.runner import RUNNER_APP, spawn, wait_running, wait_until
from tests.support.sql import versions

# The engine's fault handling is under test here: a bundle the pinned lock plan lacks would be
# rehearsed on a scratch first (its pg_sleep run there too), so these skip the rehearsal.
STATIC = "--static-plan"

BASE = {
    "0001_create_accounts.sql": (
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(18,2));\n"
    ),
    "0002_seed_accounts.sql": "INSERT INTO accounts VALUES (1, 10.00), (2, 20.00);\n",
}
SLOW = {
    **BASE,
    "0003_slow_patch.sql": (
        "ALTER TABLE accounts ADD COLUMN currency text;\nSELECT pg_sleep(60);\n"
    ),
}


def _apply_base(cli: CliRunner, db: GordonDatabase, bundle_dir: Bundle) -> None:
    """The database at BASE (accounts with two rows), applied before the fault."""
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(BASE)))
    assert result.code == 0, result.err


def _wait_server_clean(dsn: str, database: str, timeout: float = 30) -> None:
    """The runner's backend is gone, and with it every lock it held (the advisory one too)."""
    key = locks.lock_key(database)
    classid, objid = locks.lock_key_parts(key)
    wait_until(
        dsn,
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s"
        "   AND datname = current_database())"
        " AND NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
        "   AND classid = %s AND objid = %s)",
        (RUNNER_APP, classid, objid),
        timeout=timeout,
    )


def _table_is_free(dsn: str) -> bool:
    """ACCESS EXCLUSIVE on accounts is granted at once: nobody holds any lock on it."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE NOWAIT")
    return True


def _columns(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'accounts'::regclass"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ).fetchall()
    return [str(r[0]) for r in rows]


def _error_event(stderr: str) -> str:
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    errors = [e for e in events if e.get("level") == "error"]
    assert len(errors) == 1, stderr
    return str(errors[0]["event"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_cancels_on_the_server_rolls_back_and_releases_everything(
    sig: signal.Signals,
    cli: CliRunner,
    gordon_empty_db: GordonDatabase,
    bundle_dir: Bundle,
) -> None:
    root = bundle_dir(SLOW)
    _apply_base(cli, gordon_empty_db, bundle_dir)
    runner = spawn(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    wait_running(gordon_empty_db.dsn, "pg_sleep")
    runner.send_signal(sig)
    _, err = runner.communicate(timeout=30)
    assert runner.returncode == 1
    assert "Traceback" not in err
    line = _error_event(err)
    assert f"interrupted by {sig.name} while applying migration 0003 (0003_slow_patch.sql)" in line
    assert "the running statement was cancelled on the server" in line
    assert "was rolled back (no history row): nothing of it was applied" in line
    _wait_server_clean(gordon_empty_db.dsn, gordon_empty_db.name, timeout=5)
    assert _table_is_free(gordon_empty_db.dsn)
    assert versions(gordon_empty_db.dsn) == [1, 2]
    assert "currency" not in _columns(gordon_empty_db.dsn)


def test_sigterm_in_a_no_transaction_migration_reports_it_dirty(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            **BASE,
            "0003_index_then_wait.sql": (
                "-- no-transaction\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_balance_ix\n"
                "    ON accounts (balance);\n"
                "SELECT pg_sleep(60);\n"
            ),
        }
    )
    runner = spawn(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    wait_running(gordon_empty_db.dsn, "pg_sleep")
    runner.send_signal(signal.SIGTERM)
    _, err = runner.communicate(timeout=30)
    assert runner.returncode == 1
    line = _error_event(err)
    assert "interrupted by SIGTERM while applying migration 0003" in line
    assert "runs outside a transaction and was left dirty (success = false)" in line
    assert "1 of its 2 statement(s) completed" in line
    assert "`gordon-migrate repair 3`" in line
    _wait_server_clean(gordon_empty_db.dsn, gordon_empty_db.name, timeout=5)
    status = cli("status", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    assert "FAILED (dirty)" in status.out


def test_sigkill_leaves_nothing_held_on_the_server(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    """The OOM killer and `docker kill` give no chance to clean up: the server must notice
    the vanished client itself (client_connection_check_interval), not at statement_timeout."""
    root = bundle_dir(SLOW)
    runner = spawn(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    wait_running(gordon_empty_db.dsn, "pg_sleep")
    runner.kill()
    runner.communicate(timeout=30)
    _wait_server_clean(gordon_empty_db.dsn, gordon_empty_db.name, timeout=10)
    assert _table_is_free(gordon_empty_db.dsn)
    assert versions(gordon_empty_db.dsn) == [1, 2]
    assert "currency" not in _columns(gordon_empty_db.dsn)


def _apply_into_a_black_hole(db: GordonDatabase, bundle_dir: Bundle, *, existing_only: bool) -> str:
    """apply through a proxy that goes silent while the migration runs; its error line."""
    root = bundle_dir({**BASE, "0003_patch.sql": SLOW["0003_slow_patch.sql"].replace("60", "1")})
    with proxy_for(db.dsn) as proxy:
        runner = spawn(
            "apply",
            "--database-url",
            proxy.dsn(db.dsn),
            "--migrations-dir",
            str(root),
            "--statement-timeout",
            "2s",
            STATIC,
        )
        wait_running(db.dsn, "pg_sleep")
        proxy.black_hole(existing_only=existing_only)
        _, err = runner.communicate(timeout=90)
    assert runner.returncode == 1
    line = _error_event(err)
    assert "stopped answering: no reply for 7s (statement_timeout=2s plus 5s)" in line
    assert "while applying migration 0003 (0003_patch.sql)" in line
    return line


def test_silent_network_gives_up_after_statement_timeout_and_says_the_outcome_is_unknown(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    line = _apply_into_a_black_hole(gordon_empty_db, bundle_dir, existing_only=False)
    assert "the outcome of migration 0003 (0003_patch.sql) is unknown" in line
    assert "`gordon-migrate status`" in line
    # The server ends the orphaned session by itself (idle_in_transaction_session_timeout).
    _wait_server_clean(gordon_empty_db.dsn, gordon_empty_db.name, timeout=30)
    assert versions(gordon_empty_db.dsn) == [1, 2]
    assert "currency" not in _columns(gordon_empty_db.dsn)


def test_silent_connection_then_reachable_again_reports_the_rollback_it_checked(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    line = _apply_into_a_black_hole(gordon_empty_db, bundle_dir, existing_only=True)
    assert "migration 0003 (0003_patch.sql) was rolled back (no history row)" in line
    _wait_server_clean(gordon_empty_db.dsn, gordon_empty_db.name, timeout=5)
    assert versions(gordon_empty_db.dsn) == [1, 2]


def test_lost_reply_to_commit_is_reported_as_committed(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {**BASE, "0003_add_currency.sql": "ALTER TABLE accounts ADD COLUMN currency text;\n"}
    )
    with proxy_for(gordon_empty_db.dsn) as proxy:
        proxy_dsn = proxy.dsn(gordon_empty_db.dsn)
        first = spawn(
            "apply", "--database-url", proxy_dsn, "--migrations-dir", str(bundle_dir(BASE))
        )
        first.communicate(timeout=60)
        assert first.returncode == 0
        proxy.lose_reply_to_commit()
        runner = spawn("apply", "--database-url", proxy_dsn, "--migrations-dir", str(root), STATIC)
        _, err = runner.communicate(timeout=60)
    assert runner.returncode == 1
    line = _error_event(err)
    assert "lost the connection to" in line
    assert "while applying migration 0003 (0003_add_currency.sql)" in line
    assert "committed before that (its history row is there): it is applied" in line
    assert versions(gordon_empty_db.dsn) == [1, 2, 3]
    assert "currency" in _columns(gordon_empty_db.dsn)


def test_create_index_concurrently_waits_out_an_old_snapshot(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    """An unrelated REPEATABLE READ transaction holds an old snapshot: CIC must wait for it
    (logging whom it waits for), not fail at lock_timeout and leave an INVALID index."""
    root = bundle_dir(
        {
            **BASE,
            "0003_balance_index.sql": (
                "-- no-transaction\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_balance_ix\n"
                "    ON accounts (balance);\n"
            ),
        }
    )
    _apply_base(cli, gordon_empty_db, bundle_dir)
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True, application_name="report") as old:
        old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        old.execute("SELECT 1")  # takes the snapshot; touches no table
        old_pid = old.info.backend_pid
        runner = spawn(
            "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
        )
        # Wait until the build is blocked on the old transaction, and past the first report.
        wait_until(
            gordon_empty_db.dsn,
            "SELECT %s = ANY(pg_blocking_pids(pid)) AND now() - query_start > interval '3 s'"
            " FROM pg_stat_activity WHERE application_name LIKE %s"
            " AND query LIKE '%%CONCURRENTLY%%'",
            (old_pid, RUNNER_APP),
        )
        old.execute("COMMIT")
        _, err = runner.communicate(timeout=60)
    assert runner.returncode == 0, err
    waits = [
        json.loads(line)
        for line in err.splitlines()
        if "a CONCURRENTLY statement is waiting" in line
    ]
    assert waits, err
    assert waits[0]["waiting_for"][0]["pid"] == old_pid
    assert waits[0]["waiting_for"][0]["application"] == "report"
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_balance_ix'::regclass"
        ).fetchone()
    assert row == (True,)
    assert versions(gordon_empty_db.dsn) == [1, 2, 3]


def test_failed_create_index_concurrently_names_the_invalid_index_and_its_drop(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            **BASE,
            "0003_duplicate_balance.sql": "INSERT INTO accounts VALUES (3, 10.00);\n",
            "0004_unique_balance.sql": (
                "-- no-transaction\n"
                "CREATE UNIQUE INDEX CONCURRENTLY accounts_balance_uq ON accounts (balance);\n"
            ),
        }
    )
    result = cli(
        "apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), STATIC
    )
    assert result.code == 1
    line = result.error_line
    assert "migration 0004 (0004_unique_balance.sql) line 2 failed: SQLSTATE 23505" in line
    assert "left the INVALID index public.accounts_balance_uq behind" in line
    assert "`DROP INDEX CONCURRENTLY IF EXISTS public.accounts_balance_uq;`" in line
    assert "`gordon-migrate repair 4 --undone`" in line
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_balance_uq'::regclass"
        ).fetchone()
    assert row == (False,)


ROUNDS = 10
RUNNERS = 8
SPREAD_S = 0.012


def test_many_runners_at_once_all_succeed_and_apply_each_migration_once(
    gordon_server: TestServer,
) -> None:
    """Runners that read a dirty row (another runner's no-transaction migration in progress)
    wait for the lock and decide under it: none refuses, each migration runs once."""
    migrations = bundle.load()
    no_transaction = [m.version for m in migrations if m.no_transaction]
    assert no_transaction, "the bundle has no-transaction migrations whose window is tested"
    for round_ in range(1, ROUNDS + 1):
        name = unique_name("gordon_race")
        gordon_server.create_database(name)
        try:
            target = dsn_module.parse(gordon_server.dsn_for(name))
            start = threading.Barrier(RUNNERS)

            def runner(
                index: int,
                target: dsn_module.Dsn = target,
                start: threading.Barrier = start,
                step: float = round_ * SPREAD_S,
            ) -> int:
                # Started "at once" as processes are: within a few hundred milliseconds, so
                # the later ones first read the history while another runner is applying;
                # each round spreads them differently to sweep the no-transaction windows.
                start.wait()
                time.sleep(index * step)
                return len(engine.apply(target, migrations).applied)

            with ThreadPoolExecutor(RUNNERS) as pool:
                futures = [pool.submit(runner, i) for i in range(RUNNERS)]
                applied = sorted(f.result(timeout=180) for f in futures)
            assert applied == [0] * (RUNNERS - 1) + [len(migrations)]
            assert versions(target.value) == [m.version for m in migrations]
        finally:
            gordon_server.drop_database(name)


def test_runners_that_read_another_runners_dirty_marker_wait_and_succeed(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    """Deterministic form of the race: the late runners start exactly while the first one is
    inside a no-transaction migration, whose success = false row is its in-progress marker."""
    root = bundle_dir(
        {
            **BASE,
            "0003_index.sql": (
                "-- no-transaction\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_balance_ix\n"
                "    ON accounts (balance);\n"
                "SELECT pg_sleep(1.5);\n"
            ),
            "0004_after.sql": "CREATE TABLE after_index (id int);\n",
        }
    )
    migrations = bundle.load(root)
    target = dsn_module.parse(gordon_empty_db.dsn)
    with ThreadPoolExecutor(RUNNERS) as pool:
        first = pool.submit(engine.apply, target, migrations)
        wait_until(gordon_empty_db.dsn, "SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
        wait_until(
            gordon_empty_db.dsn,
            "SELECT EXISTS (SELECT 1 FROM public._sqlx_migrations"
            " WHERE version = 3 AND NOT success)",
        )
        late = [pool.submit(engine.apply, target, migrations) for _ in range(RUNNERS - 1)]
        results = [f.result(timeout=120) for f in [first, *late]]
    assert [len(r.applied) for r in results] == [4] + [0] * (RUNNERS - 1)
    assert versions(gordon_empty_db.dsn) == [1, 2, 3, 4]


def test_cancel_from_another_thread_rolls_back_and_releases_everything(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    """The TUI's cancel: the statement is cancelled on the server, the apply says so."""
    _apply_base(cli, gordon_empty_db, bundle_dir)
    token = CancelToken()
    target = dsn_module.parse(gordon_empty_db.dsn)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(
            engine.apply, target, bundle.load(bundle_dir(SLOW)), None, cancel=token
        )
        wait_until(
            gordon_empty_db.dsn,
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s"
            " AND state = 'active' AND query LIKE '%%pg_sleep%%')",
            (RUNNER_APP,),
        )
        token.cancel()
        with pytest.raises(InterruptedApplyError) as stopped:
            running.result(timeout=30)
    message = str(stopped.value)
    assert "interrupted by the operator's cancel while applying migration 0003" in message
    assert "was rolled back (no history row): nothing of it was applied" in message
    _wait_server_clean(gordon_empty_db.dsn, gordon_empty_db.name, timeout=5)
    assert versions(gordon_empty_db.dsn) == [1, 2]


def test_cancel_while_waiting_for_the_migration_lock(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    key = locks.lock_key(gordon_empty_db.name)
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        token = CancelToken()
        target = dsn_module.parse(gordon_empty_db.dsn)
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(engine.apply, target, bundle.load(bundle_dir(BASE)), cancel=token)
            wait_until(
                gordon_empty_db.dsn,
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s)",
                (RUNNER_APP,),
            )
            token.cancel()
            with pytest.raises(InterruptedApplyError) as stopped:
                running.result(timeout=30)
    assert "before any migration started: nothing was run" in str(stopped.value)
