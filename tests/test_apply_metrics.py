"""apply --metrics-file and --report: what a run did, written atomically, on failure too."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gordon_migrate import __version__
from gordon_migrate.observe import metrics
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import Bundle, CliRunner
from tests.support.sql import Sessions, db_state, versions

BASE = {
    "0001_create_accounts.sql": (
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(18,2));\n"
    ),
    "0002_seed_accounts.sql": "INSERT INTO accounts VALUES (1, 10.00), (2, 20.00);\n",
}
ADD_COLUMN = "ALTER TABLE accounts ADD COLUMN currency text;\n"


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a textfile: (name, sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found[(f"gordon_migrate_apply_{name}", tuple(sorted(labels.items())))]


def test_a_fresh_apply_writes_metrics_and_a_report(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    root = bundle_dir(BASE)
    prom, report_file = tmp_path / "apply.prom", tmp_path / "apply.json"
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(root),
        "--metrics-file",
        str(prom),
        "--report",
        str(report_file),
    )
    assert result.code == 0, result.err
    db = gordon_empty_db.name
    found = samples(prom)
    assert value(found, "success", database=db) == 1
    assert value(found, "migrations_applied", database=db) == 2
    assert value(found, "migrations_pending", database=db) == 0
    assert value(found, "schema_version", database=db) == 2
    assert value(found, "bundle_version", database=db) == 2
    assert value(found, "last_success_bundle_version", database=db) == 2
    assert value(found, "lock_retries_total", database=db) == 0
    assert value(found, "tool_info", database=db, tool_version=__version__) == 1
    ran = value(found, "last_run_timestamp_seconds", database=db)
    assert value(found, "last_success_timestamp_seconds", database=db) == ran > 0
    for version in ("1", "2"):
        assert value(found, "migration_duration_seconds", database=db, version=version) > 0
        assert value(found, "migration_lock_wait_seconds", database=db, version=version) == 0
    assert not [k for k in found if k[0].endswith("_failure")]
    assert not list(tmp_path.glob(".*")), "no temporary file left behind"

    report = json.loads(report_file.read_text())
    assert report["report"] == "gordon-migrate apply report"
    assert (report["ok"], report["outcome"], report["error"]) == (True, "success", None)
    assert report["plan"] == "measured"  # not pinned: rehearsed before the run
    assert report["database"] == db
    assert "password" not in json.dumps(report).lower()
    first, second = report["migrations"]
    assert (first["version"], first["outcome"], first["attempts"]) == (1, "applied", 1)
    (create,) = first["statements"]
    assert create["line"] == 1 and create["outcome"] == "ok" and create["attempts"] == 1
    assert create["sql"].startswith("CREATE TABLE accounts")
    # Measured, the table it creates is locked too, marked new: nobody can wait on it.
    assert create["locks"] and all(lock["new_relation"] for lock in create["locks"])
    (insert,) = second["statements"]
    assert insert["locks"] == [
        {
            "relation": "public.accounts",
            "mode": "RowExclusiveLock",
            "blocks": "neither",
            "work": "none",
            "new_relation": False,
            "kind": "table",
            "via": None,
        }
    ]


def test_the_noop_writes_success_and_carries_nothing_pending(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    prom = tmp_path / "apply.prom"
    assert cli("apply", "--database-url", gordon_db.dsn, "--metrics-file", str(prom)).code == 0
    found = samples(prom)
    assert value(found, "success", database=gordon_db.name) == 1
    assert value(found, "migrations_applied", database=gordon_db.name) == 0
    assert value(found, "migrations_pending", database=gordon_db.name) == 0
    assert value(found, "schema_version", database=gordon_db.name) == 38


def test_a_lock_timeout_failure_names_the_blocker_in_metrics_and_report(
    cli: CliRunner,
    gordon_empty_db: GordonDatabase,
    bundle_dir: Bundle,
    session_holder: Sessions,
    tmp_path: Path,
) -> None:
    root = bundle_dir(BASE)
    prom, report_file = tmp_path / "apply.prom", tmp_path / "apply.json"
    base = ("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    assert cli(*base, "--metrics-file", str(prom)).code == 0
    succeeded = value(
        samples(prom), "last_success_timestamp_seconds", database=gordon_empty_db.name
    )
    (root / "0003_add_currency.sql").write_text(ADD_COLUMN)
    blocker = session_holder(gordon_empty_db.dsn)
    blocker_pid = blocker.info.backend_pid
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM accounts")
    result = cli(
        *base,
        "--lock-retry-window",
        "1s",
        "--metrics-file",
        str(prom),
        "--report",
        str(report_file),
    )
    blocker.execute("ROLLBACK")
    assert result.code == 1
    assert "could not get its table lock" in result.error_line
    db = gordon_empty_db.name
    found = samples(prom)
    assert value(found, "success", database=db) == 0
    assert value(found, "failure", database=db, kind="migration", failure_mode="FM-17") == 1
    # The last success is carried over from the previous file, with its bundle.
    assert value(found, "last_success_timestamp_seconds", database=db) == succeeded
    assert value(found, "last_success_bundle_version", database=db) == 2
    assert value(found, "bundle_version", database=db) == 3
    assert value(found, "migrations_pending", database=db) == 1
    assert value(found, "schema_version", database=db) == 2
    timeouts = value(found, "lock_timeouts_total", database=db)
    retries = value(found, "lock_retries_total", database=db)
    assert timeouts >= 3 and retries == timeouts - 1
    assert value(found, "migration_lock_retries_total", database=db, version="3") == retries
    waited = value(found, "migration_lock_wait_seconds", database=db, version="3")
    assert 0.3 < waited < 2.0
    assert value(found, "stall_seconds_total", database=db) < waited

    report = json.loads(report_file.read_text())
    assert (report["ok"], report["outcome"]) == (False, "failed")
    assert report["error"]["failure_mode"] == "FM-17"
    assert report["error"]["blocker"] == blocker_pid
    assert report["error"]["message"] == result.error_line
    (migration,) = report["migrations"]
    assert (migration["version"], migration["outcome"]) == (3, "failed")
    assert migration["retries"] == retries
    first = migration["lock_timeouts"][0]
    assert first["retried"] and first["waited_s"] > 0.05 and first["pause_s"] > 0
    assert not migration["lock_timeouts"][-1]["retried"]
    assert first["blockers"][0]["pid"] == blocker_pid
    assert first["blockers"][0]["relation"] == "public.accounts"
    assert first["blockers"][0]["mode"] == "AccessShareLock"
    (statement,) = migration["statements"]
    assert statement["outcome"] == "lock_timeout" and statement["sqlstate"] == "55P03"
    assert statement["attempts"] == timeouts
    assert [lock["mode"] for lock in statement["locks"]] == ["AccessExclusiveLock"]
    assert statement["locks"][0]["blocks"] == "reads and writes"


def test_a_retry_that_succeeds_counts_its_wait(
    cli: CliRunner,
    gordon_empty_db: GordonDatabase,
    bundle_dir: Bundle,
    session_holder: Sessions,
    tmp_path: Path,
) -> None:
    root = bundle_dir(BASE)
    base = ("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    assert cli(*base).code == 0
    (root / "0003_add_currency.sql").write_text(ADD_COLUMN)
    blocker = session_holder(gordon_empty_db.dsn)
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM accounts")
    end = threading.Timer(0.6, lambda: blocker.execute("ROLLBACK"))
    end.start()
    report_file = tmp_path / "apply.json"
    result = cli(*base, "--report", str(report_file))
    end.join()
    assert result.code == 0, result.err
    (migration,) = json.loads(report_file.read_text())["migrations"]
    assert migration["outcome"] == "applied" and migration["attempts"] > 1
    assert migration["retries"] == migration["attempts"] - 1
    assert all(t["retried"] for t in migration["lock_timeouts"])
    assert 0.3 < migration["lock_wait_s"] <= migration["duration_s"]
    (statement,) = migration["statements"]
    assert statement["outcome"] == "ok" and statement["attempts"] == migration["attempts"]
    assert versions(gordon_empty_db.dsn) == [1, 2, 3]


def test_a_failure_before_connecting_still_writes_the_metrics(
    cli: CliRunner, bundle_dir: Bundle, tmp_path: Path
) -> None:
    prom, report_file = tmp_path / "apply.prom", tmp_path / "apply.json"
    root = bundle_dir(BASE)
    result = cli(
        "apply",
        "--migrations-dir",
        str(root),
        "--metrics-file",
        str(prom),
        "--report",
        str(report_file),
    )
    assert result.code == 1
    assert "no database given" in result.error_line
    found = samples(prom)
    assert value(found, "success", database="") == 0
    failures = {dict(k[1])["kind"]: v for k, v in found.items() if k[0].endswith("_failure")}
    assert failures == {"config": 1}
    assert value(found, "bundle_version", database="") == 2
    assert not [k for k in found if "schema_version" in k[0] or "pending" in k[0]]
    report = json.loads(report_file.read_text())
    assert report["error"]["kind"] == "config" and report["migrations"] == []


@pytest.mark.parametrize("option", ["--metrics-file", "--report"])
@pytest.mark.parametrize("where", ["missing", "file", "directory"])
def test_an_unwritable_path_is_refused_before_connecting(
    cli: CliRunner,
    gordon_empty_db: GordonDatabase,
    bundle_dir: Bundle,
    tmp_path: Path,
    option: str,
    where: str,
) -> None:
    (tmp_path / "plain").write_text("")
    path = {
        "missing": tmp_path / "nowhere" / "apply.out",
        "file": tmp_path / "plain" / "apply.out",  # its "directory" is a file
        "directory": tmp_path,
    }[where]
    before = db_state(gordon_empty_db.dsn)
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(bundle_dir(BASE)),
        option,
        str(path),
    )
    assert result.code == 1
    line = result.error_line
    assert line.startswith(f"{option} {path}")
    assert line.endswith("nothing was run")
    assert "\n" not in line
    assert db_state(gordon_empty_db.dsn) == before  # no history table: nothing ran


def test_dry_run_refuses_the_run_records(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    result = cli("apply", "--dry-run", "--database-url", gordon_db.dsn, "--report", "r.json")
    assert result.code == 1
    assert "record a real run, not --dry-run" in result.error_line


def test_a_password_never_reaches_metrics_or_report(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    secret = "hunter2-secret-Pw"
    role = f"gordon_test_pw_{gordon_empty_db.name}"
    root = bundle_dir(
        {"0001_role.sql": (f"CREATE ROLE {role} LOGIN PASSWORD '{secret}';\nDROP ROLE {role};\n")}
    )
    prom, report_file = tmp_path / "apply.prom", tmp_path / "apply.json"
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(root),
        "--metrics-file",
        str(prom),
        "--report",
        str(report_file),
    )
    assert result.code == 0, result.err
    assert secret not in prom.read_text()
    text = report_file.read_text()
    assert secret not in text
    assert "PASSWORD '***'" in text


def test_promtool_accepts_the_textfile(
    cli: CliRunner, gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (.ci/run installs Debian's prometheus and checks it)")
    root = bundle_dir(BASE)
    prom = tmp_path / "apply.prom"
    base = ("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    for extra in ((), ("--lock-retry-window", "0")):
        cli(*base, *extra, "--metrics-file", str(prom))
        checked = subprocess.run(
            [promtool, "check", "metrics"],
            input=prom.read_text(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout + checked.stderr == ""


def test_every_metric_name_is_documented() -> None:
    assert all(name.startswith("gordon_migrate_apply_") for name in metrics.NAMES)
    assert all(
        name.endswith(("_seconds", "_total", "_info")) or "_seconds" not in name
        for name in metrics.NAMES
    )


def test_label_values_are_escaped_and_the_last_success_read_back(tmp_path: Path) -> None:
    """Written by hand (prometheus_client costs a third of a no-op to import): its own parser
    must read every value back, an awkward database name included."""
    from gordon_migrate.observe.recorder import RunRecord

    name = 'odd "db"\\name\nx'
    run = RunRecord(
        database=name,
        tool_version="9.9.9",
        bundle_version=7,
        bundle_size=7,
        at=1.0,
        duration_s=0.25,
        finished_at=1700000000.5,
        outcome="success",
        applied_versions=[1, 7],
    )
    path = tmp_path / "apply.prom"
    metrics.write_textfile(path, run)
    found = samples(path)
    assert value(found, "success", database=name) == 1
    assert value(found, "duration_seconds", database=name) == 0.25
    assert value(found, "last_success_timestamp_seconds", database=name) == 1700000000.5
    assert metrics.previous_success(path, name) == (1700000000.5, 7.0)
    assert metrics.previous_success(path, "another") == (0.0, 0.0)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_watcher_that_raises_is_dropped_and_the_run_goes_on(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle, capsys: pytest.CaptureFixture[str]
) -> None:
    from gordon_migrate.apply import engine
    from gordon_migrate.apply.events import Observer, Observers
    from gordon_migrate.core import bundle, dsn, logs

    class Broken(Observer):
        calls = 0

        def statement_started(self, statement: object) -> None:
            Broken.calls += 1
            raise RuntimeError("a bug in a watcher")

    logs.configure("info", "json")
    result = engine.apply(
        dsn.parse(gordon_empty_db.dsn),
        bundle.load(bundle_dir(BASE)),
        observer=Observers([Broken()]),
    )
    assert len(result.applied) == 2
    assert Broken.calls == 1  # dropped after its first failure
    (warning,) = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if '"warning"' in line
    ]
    assert warning["event"] == "an apply observer failed and was turned off; the run goes on"
    assert warning["error"] == "RuntimeError: a bug in a watcher"


def test_sigterm_mid_migration_is_in_the_metrics_and_the_report(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle, tmp_path: Path
) -> None:
    import signal

    from tests.support.runner import spawn, wait_running

    root = bundle_dir({**BASE, "0003_slow.sql": "SELECT pg_sleep(60);\n"})
    prom, report_file = tmp_path / "apply.prom", tmp_path / "apply.json"
    child = spawn(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(root),
        "--metrics-file",
        str(prom),
        "--report",
        str(report_file),
        "--static-plan",  # the engine's interrupt is under test: no rehearsal (its pg_sleep) first
    )
    wait_running(gordon_empty_db.dsn, "pg_sleep(60)")
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 1
    last = json.loads(err.splitlines()[-1])
    assert last["kind"] == "interrupted" and "interrupted by SIGTERM" in last["event"]
    db = gordon_empty_db.name
    found = samples(prom)
    assert value(found, "success", database=db) == 0
    failures = {
        (dict(k[1])["kind"], dict(k[1])["failure_mode"]) for k in found if "failure" in k[0]
    }
    assert failures == {("interrupted", last.get("failure_mode", "none"))}
    assert value(found, "migrations_applied", database=db) == 2
    assert value(found, "schema_version", database=db) == 2
    report = json.loads(report_file.read_text())
    assert report["outcome"] == "interrupted"
    assert [m["outcome"] for m in report["migrations"]] == ["applied", "applied", "interrupted"]
    assert report["migrations"][2]["statements"][0]["outcome"] == "interrupted"
