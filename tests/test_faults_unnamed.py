"""The third fault round (issue 18), each provoked for real: a lock on another table, a client
encoding set behind the tool's back, a pid reused by a restarted server, a silent network
under every command, a synchronous standby that is gone, and the words for what happened.

Each test asserts the exit code, the line, the history, and that nothing stays locked.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.apply import locks
from gordon_migrate.apply.outcome import end_old_session
from gordon_migrate.core import bundle
from gordon_migrate.core import dsn as dsn_module
from gordon_migrate.testing import GordonDatabase, TestServer, unique_name
from tests.support.cli import Bundle, CliRunner, error_event, run_process
from tests.support.netproxy import proxy_for
from tests.support.pgcluster import Cluster, cluster
from tests.support.runner import RUNNER_APP, spawn, wait_running, wait_until
from tests.support.sql import Sessions, versions

# These provoke the engine's fault handling on the target: the rehearsal a bundle the pinned
# lock plan lacks would get first is skipped, as an operator can.
STATIC = "--static-plan"

BASE = {
    "0001_create_accounts.sql": (
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(18,2));\n"
        "CREATE TABLE audit_log (id bigint PRIMARY KEY, note text);\n"
    ),
    "0002_seed_accounts.sql": "INSERT INTO accounts VALUES (1, 10.00), (2, 20.00);\n",
}
# Not in the lint baseline (no --migrations-dir bundle is): the apply gate reads live sizes.
ADD_COLUMN = {
    **BASE,
    "0003_accounts_currency.sql": "ALTER TABLE accounts ADD COLUMN currency text;\n",
}


def _wait_nothing_held(dsn: str, database: str) -> None:
    """No backend of an apply run is left, nor the migration lock."""
    classid, objid = locks.lock_key_parts(locks.lock_key(database))
    wait_until(
        dsn,
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s"
        "   AND datname = current_database())"
        " AND NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
        "   AND classid = %s AND objid = %s)",
        (RUNNER_APP, classid, objid),
    )


# --- 1. a lock on another table -----------------------------------------------------------


def test_a_lock_held_on_another_table_does_not_stop_apply(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    db = gordon_empty_db
    assert (
        cli("apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(BASE))).code == 0
    )
    holder = session_holder(db.dsn)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")  # a TRUNCATE, a VACUUM FULL
    # Held for as long as apply runs: had apply waited on it, it would never finish.
    result = cli("apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(ADD_COLUMN)))
    assert result.code == 0, result.err
    assert versions(db.dsn) == [1, 2, 3]
    holder.execute("ROLLBACK")


def test_a_lock_held_on_the_planned_table_is_waited_out_by_the_retries(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    db = gordon_empty_db
    assert (
        cli("apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(BASE))).code == 0
    )
    holder = session_holder(db.dsn)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(2.0, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        result = cli(
            "apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(ADD_COLUMN))
        )
    finally:
        release.join()
    assert result.code == 0, result.err
    retries = [json.loads(line) for line in result.err.splitlines() if "retrying" in line]
    assert retries, "the lock was met by the retries, not by the gate"
    assert versions(db.dsn) == [1, 2, 3]


def test_dry_run_and_lint_read_sizes_past_a_locked_table(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    db = gordon_empty_db
    assert (
        cli("apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(BASE))).code == 0
    )
    holder = session_holder(db.dsn)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
    with_new = bundle_dir(ADD_COLUMN)
    planned = cli("apply", "--dry-run", "--database-url", db.dsn, "--migrations-dir", str(with_new))
    assert planned.code == 0, planned.err
    assert "0003_accounts_currency.sql" in planned.out
    linted = cli("lint", "--database-url", db.dsn, "--migrations-dir", str(with_new))
    assert linted.code == 0, linted.out + linted.err
    from gordon_migrate.lint.live import read_live_at

    live = read_live_at(dsn_module.parse(db.dsn), purpose="test")
    assert live.sizes["public.accounts"].estimated, "sized by the catalog, not by a lock wait"
    assert not live.sizes["public.audit_log"].estimated
    holder.execute("ROLLBACK")


# --- 2. bytes as written ------------------------------------------------------------------

# An en dash and a euro sign: outside LATIN1, as in the issue.
NON_ASCII = "caf\u00e9 \u2013 5 \u20ac"


def test_non_ascii_text_is_stored_as_written_whatever_client_encoding_says(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    db = gordon_empty_db
    with db.connect() as conn:
        conn.execute(f"ALTER DATABASE \"{db.name}\" SET client_encoding = 'LATIN1'")
    root = bundle_dir(
        {
            "0001_labels.sql": (
                f"CREATE TABLE labels (id int PRIMARY KEY, label text DEFAULT '{NON_ASCII}');\n"
                f"COMMENT ON TABLE labels IS '{NON_ASCII}';\n"
            )
        }
    )
    done = run_process(
        "apply",
        "--database-url",
        db.dsn,
        "--migrations-dir",
        str(root),
        env={"PGCLIENTENCODING": "LATIN1"},
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(db.dsn, autocommit=True, client_encoding="UTF8") as conn:
        conn.execute("INSERT INTO labels (id) VALUES (1)")
        stored = conn.execute(
            "SELECT convert_to(label, 'UTF8'), convert_to(obj_description('labels'::regclass),"
            " 'UTF8') FROM labels"
        ).fetchone()
    assert stored == (NON_ASCII.encode(), NON_ASCII.encode())


def test_a_database_that_cannot_store_the_migration_is_refused_naming_its_encoding(
    gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    name = unique_name("latin1")
    with gordon_server.admin() as admin:
        admin.execute(
            f"CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0"
        )
    try:
        target = gordon_server.dsn_for(name)
        root = bundle_dir(
            {
                "0001_plain.sql": "CREATE TABLE plain (id int);\n",
                "0002_euro.sql": f"CREATE TABLE euro (label text DEFAULT '{NON_ASCII}');\n",
            }
        )
        done = run_process("apply", "--database-url", target, "--migrations-dir", str(root))
        assert done.returncode == 1
        line = error_event(done.stderr)
        assert "is encoded LATIN1, which cannot store migration 0002 (0002_euro.sql)" in line
        assert "nothing was run" in line
        assert _history(target) == [], "refused before any migration ran"
        dry = run_process(
            "apply", "--dry-run", "--database-url", target, "--migrations-dir", str(root)
        )
        assert dry.returncode == 1, dry.stdout
        assert error_event(dry.stderr) == line, "the dry run refuses as apply would"
        # What LATIN1 can hold ('é' but no '€') goes through, converted by the server.
        (root / "0002_euro.sql").unlink()
        (root / "0002_cafe.sql").write_text("CREATE TABLE cafe (label text DEFAULT 'café');\n")
        assert (
            run_process("apply", "--database-url", target, "--migrations-dir", str(root)).returncode
            == 0
        )
        with psycopg.connect(target, autocommit=True, client_encoding="UTF8") as conn:
            default = conn.execute(
                "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef"
                " WHERE adrelid = 'cafe'::regclass"
            ).fetchone()
        assert default == ("'café'::text",)
    finally:
        with gordon_server.admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- 3. never end a stranger --------------------------------------------------------------


def test_the_outcome_check_ends_only_its_own_old_session(
    gordon_db: GordonDatabase, session_holder: Sessions
) -> None:
    stranger = session_holder(gordon_db.dsn)
    stranger_pid = stranger.info.backend_pid
    ours = psycopg.connect(
        gordon_db.dsn, autocommit=True, application_name="gordon-migrate apply #0badcafe"
    )
    try:
        with gordon_db.connect() as check:
            # The stranger has the pid apply remembers, but not the run's name: untouched.
            assert not end_old_session(check, stranger_pid, "gordon-migrate apply #0badcafe")
            assert stranger.execute("SELECT 1").fetchone() == (1,)
            # The run's own old session, matched on pid, name, role and database: ended.
            assert end_old_session(check, ours.info.backend_pid, "gordon-migrate apply #0badcafe")
        with pytest.raises(psycopg.OperationalError):
            ours.execute("SELECT 1")
    finally:
        ours.close()


def _own_cluster_in_pid_namespace(own: Cluster, *settings: str) -> subprocess.Popen[bytes]:
    """Start ``own``'s postgres as PID 1 of a new PID namespace, as in a container: each
    restart hands out the same low pids again, in the same order."""
    options = [arg for s in settings for arg in ("-c", s)]
    # unshare needs root; setpriv then drops to the server's user (postgres refuses root)
    # and execs postgres, which so stays PID 1.
    as_user = (
        ["setpriv", f"--reuid={own.user}", f"--regid={own.user}", "--init-groups"]
        if own.user is not None
        else []
    )
    command = [
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        *as_user,
        str(own.binaries / "postgres"),
        "-D",
        str(own.data),
        "-h",
        "",
        "-k",
        str(own.socket_dir),
        *options,
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _crash(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL the namespace's PID 1 (postgres): the kernel ends every process in it, as when a
    container dies. (unshare's --kill-child cannot: dropping to the server's user cleared it.)"""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    with contextlib.suppress(FileNotFoundError):
        for pid in children.read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    server.wait(timeout=30)


def _wait_accepting(dsn: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


@pytest.mark.embedded_only("runs a server of its own from the embedded server's binaries")
def test_a_pid_reused_after_a_restart_is_not_ended(
    gordon_server: TestServer, tmp_path: Path
) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "0001_t.sql").write_text("CREATE TABLE t (id int);\n")
    (root / "0002_slow.sql").write_text("SELECT pg_sleep(60);\n")
    with cluster(gordon_server, "gordon-pidns-") as own:
        own.pg("initdb", "-D", str(own.data), "--auth=trust", "-U", "postgres", "--no-sync")
        server = _own_cluster_in_pid_namespace(own, "autovacuum=off")
        try:
            _wait_accepting(own.dsn)
            # Pids the restarted server hands out before the test can ask for one (its
            # startup, the connection attempts while it recovers) must not pass apply's: a
            # few dozen sessions first push apply's pid beyond them.
            for _ in range(40):
                psycopg.connect(own.dsn, autocommit=True).close()
            with proxy_for(own.dsn) as proxy:
                runner = spawn(
                    "apply",
                    "--database-url",
                    proxy.dsn(own.dsn),
                    "--migrations-dir",
                    str(root),
                    "--statement-timeout",
                    "3s",
                    STATIC,
                )
                wait_running(own.dsn, "pg_sleep")
                with psycopg.connect(own.dsn, autocommit=True) as conn:
                    row = conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s",
                        (RUNNER_APP,),
                    ).fetchone()
                assert row is not None
                apply_pid = int(row[0])
                # The partition first (apply hears nothing, not even the server's exit), then
                # the container restarts: the same pids are handed out again.
                proxy.black_hole(existing_only=True, keep_open=True)
                _crash(server)
                server = _own_cluster_in_pid_namespace(own, "autovacuum=off")
                _wait_accepting(own.dsn)
                stranger = None
                seen: list[int] = []
                for _ in range(200):  # take pids until one is apply's old pid
                    conn = psycopg.connect(own.dsn, autocommit=True, application_name="trading")
                    seen.append(conn.info.backend_pid)
                    if conn.info.backend_pid == apply_pid:
                        stranger = conn
                        break
                    conn.close()
                assert stranger is not None, f"pid {apply_pid} not handed out again: {seen}"
                with stranger:
                    _, err = runner.communicate(timeout=60)
                    assert runner.returncode == 1
                    line = error_event(err)
                    assert "stopped answering" in line, line
                    # The stranger with apply's old pid is alive: apply did not end it.
                    assert stranger.execute("SELECT 1").fetchone() == (1,)
        finally:
            _crash(server)


# --- 4. every command bounded on a silent network -----------------------------------------

SILENT_COMMANDS = {
    "status": ("status",),
    "diagnose": ("diagnose",),
    "drift-check": ("drift-check",),
    "grants": ("grants",),
    "lint": ("lint",),
    "unlock": ("unlock", "--yes"),
    "repair": ("repair", "38", "--undone", "--yes"),
    "apply --dry-run": ("apply", "--dry-run"),
}


@pytest.mark.parametrize("command", sorted(SILENT_COMMANDS))
def test_every_command_gives_up_on_a_silent_server(gordon_db: GordonDatabase, command: str) -> None:
    with proxy_for(gordon_db.dsn) as proxy:
        proxy.mute_after_handshake()
        started = time.monotonic()
        done = run_process(
            *SILENT_COMMANDS[command],
            "--database-url",
            proxy.dsn(gordon_db.dsn),
            "--network-timeout",
            "2s",
            "--log-format",
            "json",
            timeout=60,
        )
        took = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    text = done.stdout if command == "diagnose" else error_event(done.stderr)
    assert "stopped answering" in text, text
    assert "FM-29" in text or "FM-29" in done.stderr, text
    assert took < 40, f"{command} took {took:.0f}s on a silent network"


def test_the_tui_loads_give_up_on_a_silent_server(gordon_db: GordonDatabase) -> None:
    from gordon_migrate.apply import overview
    from gordon_migrate.core import sessions
    from gordon_migrate.core.errors import ServerSilentError

    with proxy_for(gordon_db.dsn) as proxy:
        proxy.mute_after_handshake()
        target = dsn_module.parse(proxy.dsn(gordon_db.dsn))
        silent = dsn_module.Dsn(
            value=target.value, redacted=target.redacted, password=None, network_timeout_s=1.0
        )
        with pytest.raises(ServerSilentError, match="stopped answering"):
            overview.overview(silent, bundle.load(), "tui")
        with pytest.raises(ServerSilentError, match="stopped answering"):
            sessions.find_blockers(silent, 5.0, purpose="tui", doing="reading the sessions")
        with pytest.raises(ServerSilentError, match="stopped answering"):
            overview.planned_overview(silent, bundle.load(), purpose="tui", doing="reading")


# --- 5. a synchronous standby that is gone ------------------------------------------------


@pytest.mark.embedded_only("runs a server of its own from the embedded server's binaries")
def test_a_commit_waiting_for_a_missing_synchronous_standby_is_cut_and_reported(
    gordon_server: TestServer, tmp_path: Path
) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "0001_t.sql").write_text("CREATE TABLE t (id int);\n")
    (root / "0002_u.sql").write_text("CREATE TABLE u (id int);\n")
    with cluster(gordon_server, "gordon-syncrep-") as own:
        own.pg("initdb", "-D", str(own.data), "--auth=trust", "-U", "postgres", "--no-sync")
        own.start("synchronous_standby_names=nosuch")
        done = run_process(
            "apply",
            "--database-url",
            own.dsn,
            "--migrations-dir",
            str(root),
            "--standby-wait",
            "1s",
            "--log-format",
            "json",
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        line = error_event(done.stderr)
        assert "waited more than 1s for a synchronous standby" in line
        assert "synchronous_standby_names = 'nosuch'" in line
        assert "the history ends at 0002" in line
        assert "FM-32" in json.loads(done.stderr.splitlines()[-1])["failure_mode"]
        assert versions(own.dsn) == [1, 2]  # kept on the primary
        _wait_nothing_held(own.dsn, "postgres")
        with psycopg.connect(own.dsn, autocommit=True) as conn:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
            ).fetchone()
        assert waiting == (0,)


# --- 6. the words -------------------------------------------------------------------------


def test_an_operators_cancel_is_named_as_such(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    db = gordon_empty_db
    root = bundle_dir({**BASE, "0003_slow.sql": "SELECT pg_sleep(60);\n"})
    runner = spawn("apply", "--database-url", db.dsn, "--migrations-dir", str(root), STATIC)
    wait_running(db.dsn, "pg_sleep")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
            (RUNNER_APP,),
        )
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 1
    line = error_event(err)
    assert "was cancelled by another session" in line, line
    assert "statement_timeout" not in line
    assert json.loads(err.splitlines()[-1])["failure_mode"] == "FM-30"
    assert versions(db.dsn) == [1, 2]
    _wait_nothing_held(db.dsn, db.name)


def test_a_concurrent_index_that_finished_unheard_counts_as_done(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    db = gordon_empty_db
    root = bundle_dir(
        {
            **BASE,
            "0003_accounts_balance_idx.sql": (
                "-- no-transaction\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_balance_idx"
                " ON accounts (balance);\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_note_idx ON audit_log (note);\n"
            ),
        }
    )
    assert (
        run_process(
            "apply", "--database-url", db.dsn, "--migrations-dir", str(bundle_dir(BASE))
        ).returncode
        == 0
    )
    with proxy_for(db.dsn) as proxy:
        proxy.lose_reply_to(b"accounts_balance_idx")  # the index is built; the reply is lost
        done = run_process(
            "apply",
            "--database-url",
            proxy.dsn(db.dsn),
            "--migrations-dir",
            str(root),
            "--log-format",
            "json",
            timeout=60,
        )
    assert done.returncode == 1
    line = error_event(done.stderr)
    assert "lost the connection to" in line
    assert (
        "1 of its 2 statement(s) completed, the next was cancelled (read back from the server)"
        in line
    ), line
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_balance_idx'::regclass"
        ).fetchone()
    assert valid == (True,)


@pytest.mark.embedded_only("runs a server of its own from the embedded server's binaries")
def test_after_a_crash_the_line_names_what_the_history_kept(
    gordon_server: TestServer, tmp_path: Path
) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "0001_t.sql").write_text("CREATE TABLE t (id int);\n")
    (root / "0002_u.sql").write_text("CREATE TABLE u (id int);\n")
    (root / "0003_slow.sql").write_text("SELECT pg_sleep(60);\n")
    with cluster(gordon_server, "gordon-lostsuffix-") as own:
        own.pg("initdb", "-D", str(own.data), "--auth=trust", "-U", "postgres", "--no-sync")
        # The server's files as they were before the run: put back after the crash, they are a
        # crash that lost the run's commits (a host that lost power with them in memory only,
        # or a failover to a standby that had not received them). A real crash of the process
        # alone keeps whatever WAL it had written to the page cache, and the WAL writer writes
        # full pages at any time: whether the commits survive would be up to chance.
        before = own.data.parent / "before"
        subprocess.run(["cp", "-a", str(own.data), str(before)], check=True)
        own.start()
        with proxy_for(own.dsn) as proxy:
            runner = spawn(
                "apply",
                "--database-url",
                proxy.dsn(own.dsn),
                "--migrations-dir",
                str(root),
                "--statement-timeout",
                "4s",
                STATIC,
            )
            wait_running(own.dsn, "pg_sleep")
            proxy.black_hole(existing_only=True, keep_open=True)
            own.stop("immediate")
            shutil.rmtree(own.data)
            subprocess.run(["cp", "-a", str(before), str(own.data)], check=True)
            own.start()
            _, err = runner.communicate(timeout=60)
        kept = _history(own.dsn)
    assert runner.returncode == 1
    line = error_event(err)
    assert "stopped answering" in line, line
    assert kept == []
    assert (
        "the history holds no migration: migrations 0001 to 0002, committed by this run, "
        "did not survive" in line
    ), line
    assert "the next apply runs them again" in line


def _history(dsn: str) -> list[int]:
    """The versions in the history, [] when the crash took the history table too."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('public._sqlx_migrations')").fetchone()
    return versions(dsn) if found and found[0] is not None else []


def test_a_closed_stdout_is_a_quiet_exit(gordon_db: GordonDatabase) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "gordon_migrate.cli", "status", "--database-url", gordon_db.dsn],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.close()  # `| head -1` that has read its line and gone
        err = reader.stderr.read().decode()
        assert reader.wait(timeout=60) == 1
    assert "internal error" not in err
    assert "BrokenPipe" not in err
    assert "Traceback" not in err


@pytest.mark.embedded_only("runs a server of its own from the embedded server's binaries")
def test_a_full_disk_while_creating_the_history_table_is_named_as_such(
    gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    from tests.support.pgcluster import own_server
    from tests.support.tablespace import full_tablespace

    with own_server(gordon_server, "gordon-diskfull-") as server, full_tablespace(server) as full:
        server.create_database("gordon")
        target = server.dsn_for("gordon")
        with psycopg.connect(target, autocommit=True) as conn:  # all it creates: on the full disk
            conn.execute(f"ALTER DATABASE gordon SET default_tablespace = {full.name}")
        done = run_process(
            "apply",
            "--database-url",
            target,
            "--migrations-dir",
            str(bundle_dir(BASE)),
            "--log-format",
            "json",
        )
        assert done.returncode == 1
        event = json.loads(done.stderr.splitlines()[-1])
        assert event["failure_mode"] == "FM-25", event
        assert "SQLSTATE 53100" in event["event"]
        assert "the database's disk is full" in event["event"]
        assert _history(target) == []
        full.free()
        again = run_process(
            "apply", "--database-url", target, "--migrations-dir", str(bundle_dir(BASE))
        )
        assert again.returncode == 0, again.stderr
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("ALTER DATABASE gordon RESET default_tablespace")
            conn.execute("DROP TABLE accounts, audit_log, public._sqlx_migrations")
