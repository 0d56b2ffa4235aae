"""Every failure mode of docs/spof-runbook.md that can be provoked here, provoked for real.

Each test (1) makes apply or drift-check exit 1 with the symptom the runbook's table quotes
(read from the table, so the doc and the tool cannot drift apart), (2) checks that diagnose
names the failure mode, and (3) carries out the runbook's recovery until apply and drift-check
exit 0 (and diagnose is healthy) with every row of the Gordon tables kept. The last test
fails when a failure mode the table marks as tested has no test here.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg import conninfo

from gordon_migrate.apply import locks
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support import recovery as rh
from tests.support.auth import MakeScramRole
from tests.support.cli import CliResult, CliRunner, run_process
from tests.support.netproxy import proxy_for
from tests.support.runner import spawn, wait_running
from tests.support.sql import Sessions

F = TypeVar("F", bound=Callable[..., None])

# The failure modes of the engine itself (a dirty row, an interrupt, a full disk) come from a
# patched image the pinned lock plan lacks: apply would rehearse it on a scratch first, where
# it fails or runs as long (FM-19's test shows that refusal). These skip the rehearsal as an
# operator can, so the engine meets the failure on the target.
STATIC = "--static-plan"

#: Failure mode id -> the tests that provoke it.
PROVOKED: dict[str, list[str]] = {}


def provokes(fm_id: str) -> Callable[[F], F]:
    def register(test: F) -> F:
        PROVOKED.setdefault(fm_id, []).append(test.__name__)
        return test

    return register


@dataclass
class Incident:
    """One failure mode, provoked on a database holding Gordon rows."""

    fm_id: str
    cli: CliRunner
    db: GordonDatabase
    rows: rh.Rows
    done: set[str] = field(default_factory=set)

    def failed(self, result: CliResult) -> str:
        """(1) apply or drift-check exited 1 and printed the runbook's symptom."""
        assert result.code == 1, result.out + result.err
        text = rh.failure_text(result)
        rh.assert_symptom(self.fm_id, text)
        self.done.add("symptom")
        return text

    def diagnosed(self, *args: str) -> dict[str, Any]:
        """(2) diagnose exits 1 and names the failure mode."""
        payload = rh.diagnose_json(self.cli, *args)
        assert not payload["ok"]
        assert self.fm_id in payload["failure_modes"], payload["failure_modes"]
        self.done.add("diagnose")
        return payload

    def recovered(
        self, *extra: str, apply_url: str | None = None, apply_options: tuple[str, ...] = ()
    ) -> None:
        """(3) after the runbook's recovery: apply, drift-check and diagnose pass, rows kept.

        ``extra`` goes to apply and diagnose (the image's --migrations-dir), ``apply_options``
        to apply only; ``apply_url=""`` lets apply take DATABASE_URL from the environment."""
        url = ("--database-url", apply_url or self.db.dsn) if apply_url != "" else ()
        applied = self.cli("apply", *url, *extra, *apply_options)
        assert applied.code == 0, applied.err
        reader = self.db.dsn_as("gordon_drift_reader")
        drift = self.cli("drift-check", "--database-url", reader)
        assert drift.code == 0, drift.out
        assert rh.diagnose_json(self.cli, "--database-url", self.db.dsn, *extra)["ok"]
        rh.assert_rows_kept(self.rows, rh.gordon_rows(self.db.dsn))
        self.done.add("recovered")


Start = Callable[[str, GordonDatabase], Incident]


@pytest.fixture
def incident(cli: CliRunner, request: pytest.FixtureRequest) -> Iterator[Start]:
    started: list[Incident] = []

    def start(fm_id: str, db: GordonDatabase) -> Incident:
        assert request.node.originalname in PROVOKED.get(fm_id, []), "register with @provokes"
        rh.seed_rows(db.dsn)
        case = Incident(fm_id, cli, db, rh.gordon_rows(db.dsn))
        started.append(case)
        return case

    yield start
    for case in started:
        assert case.done == {"symptom", "diagnose", "recovered"}, f"{case.fm_id}: {case.done}"


# --- step 2: configuration ----------------------------------------------------------------


@provokes("FM-01")
def test_fm01_database_url_missing_or_empty(
    incident: Start, gordon_db: GordonDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = incident("FM-01", gordon_db)
    case.failed(case.cli("apply"))
    monkeypatch.setenv("DATABASE_URL", "")
    case.failed(case.cli("apply"))
    payload = case.diagnosed()
    assert rh.step(payload, "connect")["status"] == "not_run"
    monkeypatch.setenv("DATABASE_URL", gordon_db.dsn)  # the deploy gives the URL again
    case.recovered(apply_url="")


@provokes("FM-02")
def test_fm02_malformed_database_url(incident: Start, gordon_db: GordonDatabase) -> None:
    case = incident("FM-02", gordon_db)
    malformed = "postgresql://gordon_migrator:hunter22secret@[::1/gordon"
    text = case.failed(case.cli("apply", "--database-url", malformed))
    assert "hunter22" not in text
    payload = case.diagnosed("--database-url", malformed)
    assert "hunter22" not in str(payload)
    case.recovered()


@provokes("FM-03")
def test_fm03_malformed_bundle(incident: Start, gordon_db: GordonDatabase, tmp_path: Path) -> None:
    case = incident("FM-03", gordon_db)
    image = rh.copy_bundle(tmp_path / "image")
    (image / "refresh_fills_stats.sql").write_text("ANALYZE trading.fills;\n")
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    case.failed(case.cli("apply", *args))
    payload = case.diagnosed(*args)
    assert rh.step(payload, "connect")["status"] == "ok", "the database is still examined"
    assert rh.step(payload, "history")["status"] == "not_run"
    (image / "refresh_fills_stats.sql").rename(image / "0039_refresh_fills_stats.sql")
    case.recovered("--migrations-dir", str(image))


# --- step 3: connect ----------------------------------------------------------------------


@provokes("FM-04")
def test_fm04_server_unreachable(incident: Start, gordon_db: GordonDatabase) -> None:
    case = incident("FM-04", gordon_db)
    wrong = f"postgresql://postgres@127.0.0.1:9/{gordon_db.name}"
    case.failed(case.cli("apply", "--database-url", wrong))
    payload = case.diagnosed("--database-url", wrong)
    later = [s["status"] for s in payload["steps"] if s["step"] > 3]
    assert set(later) == {"not_run"}
    assert "no connection (step 3 failed)" in rh.step(payload, "history")["summary"]
    case.recovered()


@provokes("FM-05")
def test_fm05_server_does_not_answer(incident: Start, gordon_db: GordonDatabase) -> None:
    case = incident("FM-05", gordon_db)
    with socket.socket() as silent:  # accepts TCP connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        # The URL's connect_timeout bounds the wait (10 s without it).
        port = silent.getsockname()[1]
        wrong = f"postgresql://postgres@127.0.0.1:{port}/{gordon_db.name}?connect_timeout=2"
        text = case.failed(case.cli("apply", "--database-url", wrong))
        assert "did not answer within 2s" in text
        case.diagnosed("--database-url", wrong)
    case.recovered()


@provokes("FM-06")
def test_fm06_database_does_not_exist(
    incident: Start, gordon_db: GordonDatabase, gordon_server: TestServer
) -> None:
    case = incident("FM-06", gordon_db)
    typo = gordon_server.dsn_for(f"{gordon_db.name}_typo")
    case.failed(case.cli("apply", "--database-url", typo))
    case.diagnosed("--database-url", typo)
    case.recovered()


EMBEDDED = "needs the embedded server (trust logins, its pg_hba.conf)"


@provokes("FM-07")
@pytest.mark.embedded_only(EMBEDDED)
def test_fm07_authentication_failed(
    incident: Start, gordon_db: GordonDatabase, scram_role: MakeScramRole
) -> None:
    case = incident("FM-07", gordon_db)
    role = scram_role("rotated-hunter22", superuser=True)
    stale = role.dsn(gordon_db.dsn, "previous-hunter22")
    text = case.failed(case.cli("apply", "--database-url", stale))
    assert "hunter22" not in text
    case.diagnosed("--database-url", stale)
    current = role.dsn(gordon_db.dsn, role.password)
    case.recovered(apply_url=current)  # the secret updated to the role's password


@provokes("FM-08")
# With password auth the server says "authentication failed" instead.
@pytest.mark.embedded_only(EMBEDDED)
def test_fm08_login_refused_role_missing(incident: Start, gordon_db: GordonDatabase) -> None:
    case = incident("FM-08", gordon_db)
    typo = conninfo.make_conninfo(gordon_db.dsn, user="gordon_migrater")
    case.failed(case.cli("apply", "--database-url", typo))
    case.diagnosed("--database-url", typo)
    case.recovered()


@provokes("FM-09")
def test_fm09_connection_slots_exhausted(
    incident: Start, gordon_db: GordonDatabase, gordon_server: TestServer
) -> None:
    case = incident("FM-09", gordon_db)
    with gordon_server.admin() as admin:
        admin.execute("DROP ROLE IF EXISTS gordon_test_limited")
        admin.execute("CREATE ROLE gordon_test_limited LOGIN CONNECTION LIMIT 0")
    try:
        with gordon_db.connect() as conn:
            conn.execute("GRANT SELECT ON public._sqlx_migrations TO gordon_test_limited")
        limited = gordon_db.dsn_as("gordon_test_limited")
        case.failed(case.cli("apply", "--database-url", limited))
        case.diagnosed("--database-url", limited)
        with gordon_server.admin() as admin:
            admin.execute("ALTER ROLE gordon_test_limited CONNECTION LIMIT -1")
        assert case.cli("apply", "--database-url", limited).code == 0
        with gordon_db.connect() as conn:  # a grant on the history table is drift (issue 11)
            conn.execute("REVOKE SELECT ON public._sqlx_migrations FROM gordon_test_limited")
        case.recovered()
    finally:
        with gordon_db.connect() as conn:
            conn.execute("DROP OWNED BY gordon_test_limited")
        with gordon_server.admin() as admin:
            admin.execute("DROP ROLE gordon_test_limited")


# --- steps 4 and 5: the server and the role -----------------------------------------------


@provokes("FM-11")
@pytest.mark.embedded_only("builds a standby from the embedded server's binaries")
def test_fm11_standby(incident: Start, gordon_db: GordonDatabase, standby_dsn: str) -> None:
    case = incident("FM-11", gordon_db)
    replica = conninfo.make_conninfo(standby_dsn, dbname=gordon_db.name)
    # Replay is a wait on a condition: generous, for a loaded 2-core machine (a CI run beside
    # other work took more than 30 s once), and over as soon as the rows are there.
    deadline = time.monotonic() + 180
    while True:  # the standby replays the new database and its rows
        try:
            with psycopg.connect(replica, autocommit=True) as conn:
                seen = conn.execute("SELECT count(*) FROM trading.runs").fetchone()
            if seen == (2,):
                break
        except psycopg.OperationalError:
            pass
        assert time.monotonic() < deadline, "the standby never caught up"
        time.sleep(0.1)
    case.failed(case.cli("apply", "--database-url", replica))
    payload = case.diagnosed("--database-url", replica)
    assert rh.step(payload, "primary")["status"] == "problem"
    case.recovered()  # DATABASE_URL points at the primary again


@provokes("FM-12")
def test_fm12_role_cannot_migrate(
    incident: Start, db_at: rh.DatabaseAt, gordon_server: TestServer
) -> None:
    db = db_at(37)  # the deploy brings 0038
    case = incident("FM-12", db)
    with gordon_server.admin() as admin:
        admin.execute("DROP ROLE IF EXISTS gordon_test_readonly")
        admin.execute("CREATE ROLE gordon_test_readonly LOGIN")
    try:
        with db.connect() as conn:
            conn.execute("GRANT SELECT ON public._sqlx_migrations TO gordon_test_readonly")
        readonly = db.dsn_as("gordon_test_readonly")
        case.failed(case.cli("apply", "--database-url", readonly))
        payload = case.diagnosed("--database-url", readonly)
        assert rh.step(payload, "privileges")["status"] == "problem"
        with db.connect() as conn:  # a grant on the history table is drift (issue 11)
            conn.execute("REVOKE SELECT ON public._sqlx_migrations FROM gordon_test_readonly")
        case.recovered()  # the migration-privileged role's URL
    finally:
        with db.connect() as conn:
            conn.execute("DROP OWNED BY gordon_test_readonly")
        with gordon_server.admin() as admin:
            admin.execute("DROP ROLE gordon_test_readonly")


# --- step 6: history ----------------------------------------------------------------------

_INDEX_STATE = """
SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = 'fills_filled_at_idx'
"""


_BACKFILL = "0039_runs_failure_reason_backfill.sql"
_BACKFILL_SQL = (
    "-- no-transaction\n"
    "-- gordon:allow no-transaction-not-rerunnable setting the same value again is harmless\n"
    "UPDATE trading.runs SET failure_reason = 'unknown'\n"
    "WHERE status = 'failed' AND failure_reason IS NULL;\n"
)


def _dirty_0039(case: Incident, tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    """A no-transaction data migration stopped after its first batch: apply cannot tell what
    of an UPDATE took effect, so the dirty row waits for a human (every bundled one it
    resumes by itself: tests/test_resume.py)."""
    image = _patched_image(
        tmp_path / "image", _BACKFILL, _BACKFILL_SQL + "SELECT pg_sleep(60);  -- batch 2\n"
    )
    args = ("--database-url", case.db.dsn, "--migrations-dir", str(image))
    runner = spawn("apply", *args, STATIC)
    wait_running(case.db.dsn, "pg_sleep")
    runner.send_signal(signal.SIGTERM)  # docker stop
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 1
    assert "1 of its 2 statement(s) completed" in err
    again = case.failed(case.cli("apply", *args, STATIC))
    assert f"migration 0039 ({_BACKFILL}) is dirty" in again
    assert "apply does not resume it by itself: line 3: `UPDATE trading.runs" in again
    payload = case.diagnosed(*args)
    assert "FM-13" in [m["id"] for m in rh.step(payload, "history")["failure_modes"]]
    return image, args


@provokes("FM-13")
def test_fm13_dirty_migration_finished_by_hand(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-13", gordon_db)
    image, args = _dirty_0039(case, tmp_path)
    # runbook FM-13, finish: batch 2 run by hand, as the file says (nothing left to do here)
    repaired = case.cli("repair", "39", *args, "--yes")
    assert repaired.code == 0, repaired.err
    assert "UPDATE public._sqlx_migrations SET success = TRUE WHERE version = 39" in repaired.out
    assert "not checked (the catalogs cannot confirm it): line 3: UPDATE trading.runs" in (
        repaired.out
    )
    case.recovered("--migrations-dir", str(image))
    with case.db.connect() as conn:
        row = conn.execute(
            "SELECT success, execution_time FROM _sqlx_migrations WHERE version = 39"
        ).fetchone()
    assert row == (True, -1), "marked done, never timed"


@provokes("FM-13")
def test_fm13_dirty_migration_undone_by_hand(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-13", gordon_db)
    image, args = _dirty_0039(case, tmp_path)
    with case.db.connect() as conn:  # runbook FM-13, undo: reverse what took effect
        conn.execute(
            "UPDATE trading.runs SET failure_reason = NULL WHERE failure_reason = 'unknown'"
        )
    repaired = case.cli("repair", "39", "--undone", *args, "--yes")
    assert repaired.code == 0, repaired.err
    assert "DELETE FROM public._sqlx_migrations WHERE version = 39" in repaired.out
    (image / _BACKFILL).write_text(_BACKFILL_SQL)  # the image that runs it in one go
    case.recovered("--migrations-dir", str(image))  # apply runs 0039 again from the start
    with case.db.connect() as conn:
        timed = conn.execute(
            "SELECT execution_time FROM _sqlx_migrations WHERE version = 39"
        ).fetchone()
    assert timed is not None
    assert int(str(timed[0])) > 0, "applied by apply this time"


@provokes("FM-14")
def test_fm14_checksum_mismatch(incident: Start, gordon_db: GordonDatabase, tmp_path: Path) -> None:
    case = incident("FM-14", gordon_db)
    image = rh.copy_bundle(tmp_path / "image")
    edited = image / "0038_runs_strategy_code_revision.sql"
    edited.write_bytes(edited.read_bytes().replace(b"\n", b"\r\n"))  # a CRLF checkout
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    case.failed(case.cli("apply", *args))
    case.diagnosed(*args)
    original = rh.BUNDLE[-1]
    assert original.filename == edited.name
    edited.write_bytes(original.data)  # restored byte for byte, as applied
    case.recovered("--migrations-dir", str(image))


@provokes("FM-15")
def test_fm15_database_ahead_of_the_bundle(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-15", gordon_db)
    older = rh.copy_bundle(tmp_path / "older-image", up_to=37)
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(older))
    case.failed(case.cli("apply", *args))
    case.diagnosed(*args)
    case.recovered()  # the image that contains 0038 (the bundled one)


# --- steps 7 and 8: locks -----------------------------------------------------------------


@provokes("FM-16")
def test_fm16_migration_lock_held_by_a_stuck_runner(incident: Start, db_at: rh.DatabaseAt) -> None:
    db = db_at(37)
    case = incident("FM-16", db)
    stuck = psycopg.connect(db.dsn, autocommit=True, application_name="gordon-migrate apply")
    try:
        stuck.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(db.name),))
        pid = stuck.info.backend_pid
        text = case.failed(case.cli("apply", "--database-url", db.dsn, "--lock-wait", "1"))
        assert f"held by pid {pid} (gordon-migrate apply" in text
        payload = case.diagnosed("--database-url", db.dsn)
        lock = rh.step(payload, "migration_lock")
        assert lock["summary"].startswith(f"held by pid {pid} (gordon-migrate apply, user ")
        assert "connected since" in lock["summary"]
        assert f"SELECT pg_terminate_backend({pid});" in lock["commands"]
        ended = case.cli("unlock", "--database-url", db.dsn, "--yes")
        assert ended.code == 0, ended.err
        assert f"SELECT pg_terminate_backend({pid});" in ended.out
        case.recovered()
    finally:
        stuck.close()


@provokes("FM-17")
def test_fm17_migration_blocked_on_a_table_lock(
    incident: Start, db_at: rh.DatabaseAt, session_holder: Sessions
) -> None:
    db = db_at(37)  # 0038 alters trading.runs
    case = incident("FM-17", db)
    report = session_holder(db.dsn)
    report.execute("BEGIN")
    report.execute("SELECT count(*) FROM trading.runs")  # a long report, never committed
    url = ("--database-url", db.dsn)
    text = case.failed(
        case.cli("apply", *url, "--lock-timeout", "100ms", "--lock-retry-window", "1s")
    )
    assert "attempt(s) of lock_timeout=100ms over" in text
    assert f"blocked by pid {report.info.backend_pid} (test-holder" in text
    payload = case.diagnosed(*url, "--lock-timeout", "100ms")
    details = "\n".join(rh.step(payload, "blocking_sessions")["details"])
    assert f"pid {report.info.backend_pid} (test-holder" in details
    assert "trading.runs (AccessShareLock)" in details
    ended = case.cli("unlock", *url, "--pid", str(report.info.backend_pid), "--yes")
    assert ended.code == 0, ended.err
    case.recovered()


# --- step 9: what stops apply on a pending migration --------------------------------------


def _patched_image(root: Path, name: str, sql_text: str) -> Path:
    image = rh.copy_bundle(root)
    (image / name).write_text(sql_text)
    return image


@provokes("FM-18")
def test_fm18_statement_timeout(incident: Start, gordon_db: GordonDatabase, tmp_path: Path) -> None:
    case = incident("FM-18", gordon_db)
    image = _patched_image(
        tmp_path / "image",
        "0039_runs_backfill.sql",
        "-- stands in for a backfill that takes two seconds\nSELECT pg_sleep(2);\n",
    )
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    failed = case.cli("apply", *args, "--statement-timeout", "200ms")
    case.failed(failed)
    log = tmp_path / "apply.log"
    log.write_text(failed.err)
    payload = case.diagnosed(*args, "--apply-log", str(log))
    assert [m["id"] for m in rh.step(payload, "error_line")["failure_modes"]] == ["FM-18"]
    assert "FM-18" in [m["id"] for m in rh.step(payload, "pending")["failure_modes"]]
    case.recovered("--migrations-dir", str(image), apply_options=("--statement-timeout", "1min"))


@provokes("FM-19")
def test_fm19_sql_error_fixed_before_it_was_applied_anywhere(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-19", gordon_db)
    patch = "0039_failed_runs_reason.sql"
    image = _patched_image(
        tmp_path / "image",
        patch,
        "UPDATE trading.runs SET failure_reson = 'unknown'\n"
        "WHERE status = 'failed' AND failure_reason IS NULL;\n",
    )
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    text = case.failed(case.cli("apply", *args))
    # Not pinned, the patch is rehearsed first: the typo is caught on the scratch, before
    # the migration lock, and the target never sees it.
    assert f"{patch}:1: SQLSTATE 42703: " in text
    assert "on the scratch; the target was not touched" in text
    case.diagnosed(*args)
    (image / patch).write_text(  # rolled back and applied nowhere: corrected in place
        "UPDATE trading.runs SET failure_reason = 'unknown'\n"
        "WHERE status = 'failed' AND failure_reason IS NULL;\n"
    )
    case.recovered("--migrations-dir", str(image))


@provokes("FM-34")
def test_fm34_apply_refuses_a_pending_migration(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-34", gordon_db)
    patch = "0039_failed_runs_reason.sql"
    backfill = (
        "UPDATE trading.runs SET failure_reason = 'unknown'\n"
        "WHERE status = 'failed' AND failure_reason IS NULL;\n"
    )
    # A backfill someone feared would time out: a timeout lifted inside the migration, and by
    # a top-level SET that outlives it in apply's session (lint's timeout-override), an error
    # on any table size.
    image = _patched_image(tmp_path / "image", patch, "SET statement_timeout = 0;\n" + backfill)
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    failed = case.cli("apply", *args)
    text = case.failed(failed)
    assert f"migration {patch} line 1: timeout-override:" in text
    with psycopg.connect(gordon_db.dsn) as conn:  # refused before anything ran
        applied = conn.execute(
            "SELECT count(*) FROM public._sqlx_migrations WHERE version = 39"
        ).fetchone()
        assert applied == (0,)
    _diagnosed_from_log(case, failed.err, tmp_path, *args)
    # Applied nowhere: rewritten the way lint says (the header directive bounds the run).
    (image / patch).write_text("-- gordon:statement-timeout 1h\n" + backfill)
    case.recovered("--migrations-dir", str(image))


@provokes("FM-20")
def test_fm20_connection_lost_during_apply(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-20", gordon_db)
    nightly_job = 20260501
    image = _patched_image(
        tmp_path / "image",
        "0039_wait_for_nightly_job.sql",
        f"SELECT pg_advisory_xact_lock({nightly_job});\n",
    )
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    with gordon_db.connect() as job, gordon_db.connect() as operator:
        job.execute("SELECT pg_advisory_lock(%s)", (nightly_job,))
        ended: list[int] = []

        def end_the_runner() -> None:  # the backend dies while the migration waits
            deadline = time.monotonic() + 30
            while not ended and time.monotonic() < deadline:
                row = operator.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name LIKE 'gordon-migrate apply #%'"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()
                if row is not None:
                    operator.execute("SELECT pg_terminate_backend(%s)", (row[0],))
                    ended.append(int(row[0]))
                time.sleep(0.05)

        killer = threading.Thread(target=end_the_runner)
        killer.start()
        failed = case.cli("apply", *args, "--lock-timeout", "0")
        killer.join()
        assert ended, "the runner never waited on the lock"
        text = case.failed(failed)
        assert "while applying migration 0039" in text
        case.diagnosed(*args)
        job.execute("SELECT pg_advisory_unlock(%s)", (nightly_job,))
    case.recovered("--migrations-dir", str(image))


def _diagnosed_from_log(case: Incident, err: str, tmp_path: Path, *args: str) -> None:
    log = tmp_path / "apply.log"
    log.write_text(err)
    payload = case.diagnosed(*args, "--apply-log", str(log))
    ids = [m["id"] for m in rh.step(payload, "error_line")["failure_modes"]]
    assert case.fm_id in ids, ids


@provokes("FM-29")
def test_fm29_server_stopped_answering(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-29", gordon_db)
    image = _patched_image(tmp_path / "image", "0039_runs_backfill.sql", "SELECT pg_sleep(1);\n")
    with proxy_for(gordon_db.dsn) as proxy:
        runner = spawn(
            "apply",
            "--database-url",
            proxy.dsn(gordon_db.dsn),
            "--migrations-dir",
            str(image),
            "--statement-timeout",
            "1s",
        )
        wait_running(gordon_db.dsn, "pg_sleep")
        proxy.black_hole()
        out, err = runner.communicate(timeout=90)
    text = case.failed(CliResult(code=runner.returncode, out=out, err=err))
    assert "is unknown" in text
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    _diagnosed_from_log(case, err, tmp_path, *args)
    # The server ended the orphaned session by itself: status shows 0039 pending (rolled
    # back), and the deploy re-runs.
    status = case.cli("status", *args)
    assert "0039    pending" in status.out
    case.recovered("--migrations-dir", str(image))


@provokes("FM-30")
def test_fm30_apply_interrupted(incident: Start, gordon_db: GordonDatabase, tmp_path: Path) -> None:
    case = incident("FM-30", gordon_db)
    image = _patched_image(tmp_path / "image", "0039_runs_backfill.sql", "SELECT pg_sleep(60);\n")
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    runner = spawn("apply", *args, STATIC)
    wait_running(gordon_db.dsn, "pg_sleep")
    runner.send_signal(signal.SIGTERM)  # docker stop
    out, err = runner.communicate(timeout=60)
    text = case.failed(CliResult(code=runner.returncode, out=out, err=err))
    assert "was rolled back (no history row)" in text
    _diagnosed_from_log(case, err, tmp_path, *args)
    (image / "0039_runs_backfill.sql").write_text("SELECT pg_sleep(0.1);\n")  # the fixed image
    case.recovered("--migrations-dir", str(image), apply_options=(STATIC,))


@provokes("FM-30")
def test_fm30_cancelled_by_another_session(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-30", gordon_db)
    image = _patched_image(tmp_path / "image", "0039_runs_backfill.sql", "SELECT pg_sleep(60);\n")
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    runner = spawn("apply", *args, STATIC)
    wait_running(gordon_db.dsn, "pg_sleep")
    with gordon_db.connect() as operator:  # a job that cancels long queries
        operator.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
            " WHERE application_name LIKE 'gordon-migrate apply #%'"
            " AND datname = current_database()"
        )
    out, err = runner.communicate(timeout=60)
    text = case.failed(CliResult(code=runner.returncode, out=out, err=err))
    assert "it was rolled back (nothing of it applied)" in text
    _diagnosed_from_log(case, err, tmp_path, *args)
    # The job leaves the migrator alone now. The backfill runs again from the start; here it
    # is shorter than the minute that kept it running until the job cancelled it (never
    # applied, so its bytes may change).
    (image / "0039_runs_backfill.sql").write_text("SELECT pg_sleep(0.1);\n")
    case.recovered("--migrations-dir", str(image), apply_options=(STATIC,))


@provokes("FM-11")
def test_fm11_read_only_database(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-11", gordon_db)
    with gordon_db.connect() as conn:  # a maintenance freeze left in place
        conn.execute(f'ALTER DATABASE "{gordon_db.name}" SET default_transaction_read_only = on')
    image = _patched_image(tmp_path / "image", "0039_runs_note.sql", "SELECT 1;\n")
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    text = case.failed(case.cli("apply", *args))
    assert "nothing was run" in text
    payload = case.diagnosed(*args)
    assert rh.step(payload, "primary")["status"] == "problem"
    with gordon_db.server.admin() as admin:  # from another database: this one is read-only
        admin.execute(f'ALTER DATABASE "{gordon_db.name}" RESET default_transaction_read_only')
    case.recovered("--migrations-dir", str(image))


@provokes("FM-25")
@pytest.mark.embedded_only("runs a server of its own from the embedded server's binaries")
def test_fm25_disk_full(incident: Start, gordon_server: TestServer, tmp_path: Path) -> None:
    from tests.support.pgcluster import own_server
    from tests.support.tablespace import full_tablespace

    with own_server(gordon_server, "gordon-fm25-") as server, full_tablespace(server) as full:
        server.create_database("gordon")
        db = GordonDatabase(name="gordon", dsn=server.dsn_for("gordon"), server=server)
        first = run_process("apply", "--database-url", db.dsn)
        assert first.returncode == 0, first.stderr
        case = incident("FM-25", db)
        image = _patched_image(
            tmp_path / "image",
            "0039_runs_scratch.sql",
            "-- a backfill that needs scratch space on the volume that holds it\n"
            f"CREATE TABLE public.runs_scratch (pad text) TABLESPACE {full.name};\n"
            "INSERT INTO public.runs_scratch SELECT repeat('x', 1000)"
            " FROM generate_series(1, 1000);\n"
            "DROP TABLE public.runs_scratch;\n",
        )
        args = ("--database-url", db.dsn, "--migrations-dir", str(image))
        failed = case.cli("apply", *args, STATIC)
        text = case.failed(failed)
        assert "it was rolled back (nothing of it applied)" in text
        _diagnosed_from_log(case, failed.err, tmp_path, *args)
        full.free()  # the runbook: free or grow the volume, re-run
        case.recovered("--migrations-dir", str(image), apply_options=(STATIC,))


@provokes("FM-35")
def test_fm35_no_scratch_server_to_rehearse_on(
    incident: Start, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    case = incident("FM-35", gordon_db)
    image = _patched_image(tmp_path / "image", "0039_runs_note.sql", "SELECT 1;\n")
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(image))
    # A scratch URL on a port nothing listens on (the discard port).
    down = "postgresql://gordon@127.0.0.1:9/postgres?connect_timeout=2"
    failed = case.cli("apply", *args, "--scratch-url", down)
    text = case.failed(failed)
    assert "cannot rehearse 0039_runs_note.sql" in text and "Nothing was run" in text
    _diagnosed_from_log(case, failed.err, tmp_path, *args)
    case.recovered("--migrations-dir", str(image))  # the plugin's scratch server: reachable


@provokes("FM-33")
def test_fm33_database_refuses_connections(
    incident: Start, gordon_db: GordonDatabase, gordon_server: TestServer
) -> None:
    case = incident("FM-33", gordon_db)
    with gordon_server.admin() as admin:  # a maintenance step left in place
        admin.execute(f'ALTER DATABASE "{gordon_db.name}" ALLOW_CONNECTIONS false')
    try:
        case.failed(case.cli("apply", "--database-url", gordon_db.dsn))
        payload = case.diagnosed("--database-url", gordon_db.dsn)
        assert rh.step(payload, "connect")["status"] == "problem"
    finally:
        with gordon_server.admin() as admin:
            admin.execute(f'ALTER DATABASE "{gordon_db.name}" ALLOW_CONNECTIONS true')
    case.recovered()


@provokes("FM-32")
@pytest.mark.embedded_only("runs a primary of its own from the embedded server's binaries")
def test_fm32_commit_waits_for_a_missing_synchronous_standby(
    incident: Start, gordon_server: TestServer, tmp_path: Path
) -> None:
    from gordon_migrate.testing import TestServer as Server
    from tests.support.pgcluster import cluster

    with cluster(gordon_server, "gordon-fm32-") as own:
        own.pg("initdb", "-D", str(own.data), "--auth=trust", "-U", "postgres", "--no-sync")
        own.start()
        server = Server(admin_dsn=own.dsn, version=gordon_server.version, embedded=None)
        server.create_database("gordon")
        db = GordonDatabase(name="gordon", dsn=server.dsn_for("gordon"), server=server)
        older = rh.copy_bundle(tmp_path / "older", up_to=37)
        first = run_process("apply", "--database-url", db.dsn, "--migrations-dir", str(older))
        assert first.returncode == 0, first.stderr
        case = incident("FM-32", db)
        with psycopg.connect(own.dsn, autocommit=True) as conn:  # the standby's name, no standby
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = 'gordon_replica'")
        own.stop()
        own.start()
        failed = case.cli("apply", "--database-url", db.dsn, "--standby-wait", "1s")
        case.failed(failed)
        assert "the history ends at 0038" in rh.failure_text(failed)
        payload = case.diagnosed("--database-url", db.dsn)
        assert rh.step(payload, "primary")["status"] == "problem"
        with psycopg.connect(own.dsn, autocommit=True) as conn:  # a decision about durability
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
        own.stop()
        own.start()
        case.recovered()


@provokes("FM-31")
def test_fm31_create_index_concurrently_failed(
    incident: Start, db_at: rh.DatabaseAt, session_holder: Sessions, tmp_path: Path
) -> None:
    case = incident("FM-31", db_at(34))
    writer = session_holder(case.db.dsn)
    writer.execute("BEGIN")
    writer.execute("LOCK TABLE trading.fills IN ROW EXCLUSIVE MODE")  # as an INSERT would
    url = ("--database-url", case.db.dsn)
    failed = case.cli("apply", *url, "--statement-timeout", "1s")
    text = case.failed(failed)
    assert "re-run apply, which drops that index concurrently and builds it again" in text
    _diagnosed_from_log(case, failed.err, tmp_path, *url)
    # Without the log too: the history step sees the dirty row beside the INVALID index, and
    # that the next apply resumes it.
    payload = case.diagnosed(*url)
    history_step = rh.step(payload, "history")
    assert "FM-31" in [m["id"] for m in history_step["failure_modes"]]
    assert history_step["commands"][0] == "gordon-migrate apply"
    writer.execute("ROLLBACK")  # the cause is gone
    with case.db.connect() as conn:
        assert conn.execute(_INDEX_STATE).fetchall() == [(False,)]
    case.recovered()  # the runbook's recovery, as the line says: re-run the deploy
    with case.db.connect() as conn:
        assert conn.execute(_INDEX_STATE).fetchall() == [(True,)]


# --- step 10: drift (DP-08) ---------------------------------------------------------------

OUT_OF_BAND = {
    "FM-21": (
        "ALTER TABLE trading.runs ADD COLUMN hotfix_note text",
        "ALTER TABLE trading.runs DROP COLUMN hotfix_note",
    ),
    "FM-22": (
        "GRANT DELETE ON trading.runs TO gordon_api",
        "REVOKE DELETE ON trading.runs FROM gordon_api",
    ),
    "FM-23": (
        "GRANT UPDATE (failure_reason) ON trading.runs TO gordon_api",
        "REVOKE UPDATE (failure_reason) ON trading.runs FROM gordon_api",
    ),
    "FM-24": (
        "CREATE TRIGGER runs_debug_notify AFTER INSERT ON trading.runs FOR EACH ROW"
        " EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_debug', 'run_id')",
        "DROP TRIGGER runs_debug_notify ON trading.runs",
    ),
}


def _drift(fm_id: str, incident: Start, db: GordonDatabase) -> None:
    case = incident(fm_id, db)
    change, undo = OUT_OF_BAND[fm_id]
    with db.connect() as conn:
        conn.execute(change)  # a hotfix by hand, outside any migration
    reader = db.dsn_as("gordon_drift_reader")
    case.failed(case.cli("drift-check", "--database-url", reader))
    case.diagnosed("--database-url", db.dsn)
    with db.connect() as conn:
        conn.execute(undo)  # runbook FM-21 to FM-24: undo it exactly
    case.recovered()


@provokes("FM-21")
def test_fm21_drift_schema(incident: Start, gordon_db: GordonDatabase) -> None:
    _drift("FM-21", incident, gordon_db)


@provokes("FM-22")
def test_fm22_drift_grants(incident: Start, gordon_db: GordonDatabase) -> None:
    _drift("FM-22", incident, gordon_db)


@provokes("FM-23")
def test_fm23_drift_column_grants(incident: Start, gordon_db: GordonDatabase) -> None:
    _drift("FM-23", incident, gordon_db)


@provokes("FM-24")
def test_fm24_drift_notify_allowlist(incident: Start, gordon_db: GordonDatabase) -> None:
    _drift("FM-24", incident, gordon_db)


# --- the table and the tests --------------------------------------------------------------


def test_every_failure_mode_marked_tested_has_a_test() -> None:
    tested = {mode.id for mode in rh.RUNBOOK.failure_modes if mode.tested}
    assert sorted(PROVOKED) == sorted(tested), "FM ids marked tested vs tests here"
    for fm_id, names in PROVOKED.items():
        for name in names:
            assert name.startswith("test_") and callable(globals()[name]), (fm_id, name)


def test_untested_failure_modes_say_why() -> None:
    for mode in rh.RUNBOOK.failure_modes:
        if not mode.tested:
            assert mode.tested_cell.startswith("no: "), mode.id
            assert len(mode.tested_cell) > len("no: ") + 10, mode.id
