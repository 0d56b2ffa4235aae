"""`gordon-migrate lint`: the bundle is clean against its baseline, findings and exit codes,
waivers, live sizes, and the gate in `apply` (refuses before any lock, changes nothing)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import conninfo
from psycopg import sql as q

from gordon_migrate.core import bundle
from gordon_migrate.lint import baseline
from gordon_migrate.testing import GordonDatabase, unique_name
from tests.support.cli import CliRunner, run_process
from tests.support.sql import Sessions, db_state

BUNDLE = bundle.load()
NEXT = f"{len(BUNDLE) + 1:04d}"


def _bundle_plus(tmp_path: Path, name: str, sql: str) -> Path:
    """The real bundle with one more migration after it."""
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    (root / name).write_bytes(sql.encode())
    return root


def _write(tmp_path: Path, name: str, sql: str) -> Path:
    path = tmp_path / name
    path.write_bytes(sql.encode())
    return path


def test_bundle_lints_clean_against_its_baseline(cli: CliRunner) -> None:
    result = cli("lint")
    assert result.code == 0, result.out
    assert "38 file(s)" in result.out
    assert "0 error(s)" in result.out
    assert "grandfathered by the baseline" in result.out


def test_rules_are_listed(cli: CliRunner) -> None:
    result = cli("lint", "--rules")
    assert result.code == 0
    assert "index-not-concurrent" in result.out
    assert "grant-decision-missing" in result.out


def test_baseline_is_current_and_covers_the_hazards_the_issue_names(cli: CliRunner) -> None:
    keys = baseline.load()
    rules_by_file: dict[str, set[str]] = {}
    for name, _sha, _line, rule in keys:
        rules_by_file.setdefault(name[:4], set()).add(rule)
    assert "index-not-concurrent" in rules_by_file["0010"]
    assert "index-not-concurrent" in rules_by_file["0014"]
    assert "set-not-null-without-check" in rules_by_file["0011"]
    assert "constraint-without-not-valid" in rules_by_file["0021"]
    assert "constraint-without-not-valid" in rules_by_file["0025"]
    assert "add-column-stored-generated" in rules_by_file["0022"]
    result = cli("lint", "--format", "json")
    report = json.loads(result.out)
    assert all(f["grandfathered"] for f in report["findings"])
    assert {(f["file"], f["line"], f["rule"]) for f in report["findings"]} == {
        (name, line, rule) for name, _sha, line, rule in keys if rule != baseline.REVIEWED
    }


def test_an_edited_baselined_migration_loses_its_grandfathering(
    cli: CliRunner, tmp_path: Path
) -> None:
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    edited = root / "0010_order_intents_open_status_index.sql"
    edited.write_bytes(edited.read_bytes() + b"-- edited\n")
    result = cli("lint", "--migrations-dir", str(root))
    assert result.code == 1
    assert "0010_order_intents_open_status_index.sql:4:1  index-not-concurrent  error" in result.out


def test_text_output_names_location_rule_severity_why_and_fix(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "0039_intents_status_idx.sql",
        "-- status lookups\n"
        "CREATE INDEX order_intents_status_idx ON trading.order_intents (status);\n",
    )
    result = cli("lint", str(path))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{path}:2:1  index-not-concurrent  error  CREATE INDEX")
    assert lines[1].startswith("  why: CREATE INDEX holds SHARE")
    assert lines[2].startswith("  fix: use CREATE INDEX CONCURRENTLY")
    assert lines[-1].startswith("FAILED")


def test_json_is_one_document_with_every_finding(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "0039_two.sql",
        "ALTER TABLE trading.runs DROP COLUMN failure_reason;\n"
        "GRANT SELECT ON trading.runs TO PUBLIC;\n",
    )
    result = cli("lint", "--format", "json", str(path))
    assert result.code == 1
    report = json.loads(result.out)
    assert report["ok"] is False
    assert [(f["line"], f["rule"]) for f in report["findings"]] == [
        (1, "drop-column"),
        (2, "grant-to-public"),
    ]


def test_new_table_in_the_same_file_is_not_existing(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "0039_new.sql",
        "CREATE TABLE trading.t (id bigint PRIMARY KEY, v text);\n"
        "CREATE INDEX t_v_idx ON trading.t (v);\n"
        "ALTER TABLE trading.t ADD COLUMN w text NOT NULL;\n"
        "ALTER TABLE trading.t ADD CONSTRAINT t_v_check CHECK (v <> '');\n"
        "GRANT SELECT ON trading.t TO gordon_api;\n",
    )
    assert cli("lint", str(path)).code == 0


def test_waiver_needs_a_reason_and_shows_it(cli: CliRunner, tmp_path: Path) -> None:
    waived = _write(
        tmp_path,
        "0039_waived.sql",
        "ALTER TABLE trading.runs DROP COLUMN failure_reason; "
        "-- gordon:allow drop-column unused since api 7.4\n",
    )
    result = cli("lint", str(waived))
    assert result.code == 0, result.out
    assert "waived: unused since api 7.4" in result.out
    bare = _write(
        tmp_path,
        "0039_bare.sql",
        "-- gordon:allow drop-column\nALTER TABLE trading.runs DROP COLUMN failure_reason;\n",
    )
    result = cli("lint", "--format", "json", str(bare))
    assert result.code == 1
    rules = {f["rule"]: f["waived"] for f in json.loads(result.out)["findings"]}
    assert rules == {"waiver-without-reason": False, "drop-column": False}
    unknown = _write(
        tmp_path, "0039_unknown.sql", "-- gordon:allow no-such-rule because\nSELECT 1;\n"
    )
    assert "waiver-unknown-rule" in cli("lint", str(unknown)).out
    misplaced = _write(
        tmp_path,
        "0039_misplaced.sql",
        "-- gordon:allow drop-column unused since api 7.4\n"
        "SELECT 1;\n"
        "ALTER TABLE trading.runs DROP COLUMN failure_reason;\n",
    )
    result = cli("lint", "--format", "json", str(misplaced))
    assert result.code == 1
    seen = {(f["line"], f["rule"], f["waived"]) for f in json.loads(result.out)["findings"]}
    assert seen == {(1, "waiver-unused", False), (3, "drop-column", False)}


def test_static_rules(cli: CliRunner, tmp_path: Path) -> None:
    cases = {
        "CREATE INDEX CONCURRENTLY i ON trading.runs (mode);": "concurrently-in-transaction",
        "BEGIN;\nSELECT 1;\nCOMMIT;": "transaction-control",
        "SET ROLE gordon_api;": "session-setting-leak",
        "RESET ALL;": "session-setting-leak",
        "SELECT set_config('search_path', 'trading', false);": "session-setting-leak",
        "SELECT set_config('lock_timeout', '1s', true);": "timeout-override",
        "SELECT set_config('lock_timeout', '50ms', true);": None,
        "NOTIFY gordon_unknown;": "notify-channel",
        "SELECT pg_notify('gordon_fills', 'x');": None,
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;": "grant-to-public",
        "SELEC 1;": "syntax-error",
        "\ufeffSELECT 1;": "nul-or-bom",
        "ALTER TABLE trading.runs ADD COLUMN u uuid DEFAULT gen_random_uuid();": (
            "add-column-volatile-default"
        ),
        "ALTER TABLE trading.runs ADD COLUMN t timestamptz NOT NULL DEFAULT now();": None,
    }
    for i, (sql, rule) in enumerate(cases.items()):
        path = _write(tmp_path, f"0039_case{i}.sql", sql + "\n")
        report = json.loads(cli("lint", "--format", "json", str(path)).out)
        assert {f["rule"] for f in report["findings"]} == ({rule} if rule else set()), sql


def test_live_size_decides_the_severity(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    path = _write(
        tmp_path,
        "0039_idx.sql",
        "CREATE INDEX risk_audit_actor_idx ON trading.risk_audit (actor);\n",
    )
    small = cli("lint", "--database-url", gordon_db.dsn, str(path))
    assert small.code == 0, small.out
    assert "index-not-concurrent  warning" in small.out
    assert "live sizes" in small.out
    with gordon_db.connect() as conn:
        conn.execute("ALTER TABLE trading.risk_audit DISABLE TRIGGER USER")
        conn.execute(
            "INSERT INTO trading.risk_audit (actor, action, reason) "
            "SELECT 'ops', 'config_changed', 'load ' || g FROM generate_series(1, 12000) g"
        )
        conn.execute("ANALYZE trading.risk_audit")
    large = cli("lint", "--database-url", gordon_db.dsn, str(path))
    assert large.code == 1, large.out
    assert "index-not-concurrent  error" in large.out
    assert "~12000 rows" in large.out


@pytest.fixture
def linter(gordon_db: GordonDatabase) -> Iterator[str]:
    """The DSN of a login role of its own (not a superuser), dropped after the test."""
    name = unique_name("gordon_test_linter")
    with gordon_db.connect() as conn:
        conn.execute(q.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(q.Identifier(name)))
    yield conninfo.make_conninfo(gordon_db.dsn, user=name)
    with gordon_db.connect() as conn:
        conn.execute(q.SQL("DROP OWNED BY {}").format(q.Identifier(name)))
        conn.execute(q.SQL("DROP ROLE {}").format(q.Identifier(name)))


def _lint_failure(dsn: str, path: Path) -> dict[str, str]:
    """The one line (a JSON event: stderr is not a terminal) of a live lint that fails."""
    done = run_process("lint", "--database-url", dsn, str(path))
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    event: dict[str, str] = json.loads(lines[0])
    assert event["level"] == "error"
    return event


def test_live_sizes_refused_by_the_server_are_one_line_and_exit_1(
    tmp_path: Path, gordon_db: GordonDatabase, linter: str
) -> None:
    path = _write(tmp_path, "0039_idx.sql", "CREATE INDEX r_idx ON trading.risk_audit (actor);\n")
    with gordon_db.connect() as conn:  # this database only: each test has its own clone
        conn.execute("REVOKE SELECT ON pg_catalog.pg_locks FROM PUBLIC")
    assert _lint_failure(linter, path) == {
        "level": "error",
        "event": "query failed: SQLSTATE 42501: permission denied for view pg_locks",
        "kind": "query",
        "sqlstate": "42501",
        "failure_mode": "FM-12",
    }


def test_live_sizes_of_a_terminated_backend_are_one_line_and_exit_1(
    tmp_path: Path, gordon_db: GordonDatabase, linter: str
) -> None:
    path = _write(tmp_path, "0039_idx.sql", "CREATE INDEX r_idx ON trading.risk_audit (actor);\n")
    role = q.Identifier(str(conninfo.conninfo_to_dict(linter)["user"]))
    with gordon_db.connect() as conn:
        # The linter's first query calls current_setting(): a schema ahead of pg_catalog on its
        # search_path makes that call wait, so that the backend is ended in the middle of it.
        conn.execute("CREATE SCHEMA trap")
        conn.execute(
            "CREATE FUNCTION trap.current_setting(text) RETURNS text LANGUAGE sql AS "
            "$$ SELECT pg_catalog.current_setting($1) FROM pg_catalog.pg_sleep(60) $$"
        )
        conn.execute(q.SQL("GRANT USAGE ON SCHEMA trap TO {}").format(role))
        conn.execute(
            q.SQL("GRANT EXECUTE ON FUNCTION trap.current_setting(text) TO {}").format(role)
        )
        conn.execute(
            q.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = trap, pg_catalog").format(
                role, q.Identifier(gordon_db.name)
            )
        )
    failures: list[dict[str, str]] = []
    worker = threading.Thread(target=lambda: failures.append(_lint_failure(linter, path)))
    worker.start()
    deadline = time.monotonic() + 60
    ended = False
    with gordon_db.connect() as killer:
        while not ended and time.monotonic() < deadline and worker.is_alive():
            row = killer.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'gordon-migrate lint' AND wait_event = 'PgSleep'"
            ).fetchone()
            ended = row is not None and row[0] == 1
            time.sleep(0.05)
    worker.join(timeout=60)
    assert ended, ("the linter's query never waited", failures)
    assert len(failures) == 1
    event = failures[0]
    assert event["kind"] == "connection_lost", event
    assert event["event"].startswith("lost the connection to "), event
    assert (
        " while reading table sizes: terminating connection due to administrator command"
    ) in event["event"], event


def test_apply_refuses_a_hazard_before_any_lock_and_changes_nothing(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    root = _bundle_plus(
        tmp_path,
        f"{NEXT}_drop_reason.sql",
        "ALTER TABLE trading.runs DROP COLUMN failure_reason;\n",
    )
    before = db_state(gordon_db.dsn)
    result = cli("apply", "--database-url", gordon_db.dsn, "--migrations-dir", str(root))
    assert result.code == 1
    line = result.error_line
    assert f"migration {NEXT}_drop_reason.sql line 1: drop-column:" in line
    assert "Nothing was run" in line
    assert db_state(gordon_db.dsn) == before
    with gordon_db.connect() as conn:
        held = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    assert held == (0,)


def test_apply_runs_a_waived_hazard(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    root = _bundle_plus(
        tmp_path,
        f"{NEXT}_drop_reason.sql",
        "-- gordon:allow drop-column no service reads it since api 7.4\n"
        "ALTER TABLE trading.runs DROP COLUMN failure_reason;\n",
    )
    result = cli("apply", "--database-url", gordon_db.dsn, "--migrations-dir", str(root))
    assert result.code == 0, result.err
    with gordon_db.connect() as conn:
        gone = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = 'trading' AND table_name = 'runs' "
            "AND column_name = 'failure_reason'"
        ).fetchone()
    assert gone == (0,)


def test_noop_apply_loads_no_parser(gordon_db: GordonDatabase) -> None:
    code = (
        "import sys\n"
        "from gordon_migrate.cli import main\n"
        "try:\n"
        f"    main(['apply', '--database-url', {gordon_db.dsn!r}])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "assert 'pglast' not in sys.modules, 'pglast imported by a no-op apply'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_fresh_apply_of_the_reviewed_bundle_lints_nothing(gordon_empty_db: GordonDatabase) -> None:
    """The baseline's reviewed files are what production ran: the gate skips them whole."""
    code = (
        "import sys\n"
        "from gordon_migrate.cli import main\n"
        "try:\n"
        f"    main(['apply', '--database-url', {gordon_empty_db.dsn!r}])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "assert 'gordon_migrate.lint.analyze' not in sys.modules, 'the bundle was linted'\n"
        # Its statements' places and how each runs are pinned beside its lock plan.
        "assert 'pglast' not in sys.modules, 'the bundle was parsed'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    reviewed = baseline.reviewed(baseline.load())
    assert {(m.filename, m.checksum.hex()) for m in bundle.load()} == reviewed


def test_dry_run_shows_the_lock_plan_and_conflicting_holders(
    cli: CliRunner,
    tmp_path: Path,
    gordon_db: GordonDatabase,
    session_holder: Sessions,
) -> None:
    root = _bundle_plus(
        tmp_path,
        f"{NEXT}_runs_notes.sql",
        "ALTER TABLE trading.runs ADD COLUMN notes text;\n"
        "CREATE TABLE trading.run_tags (run_id bigint REFERENCES trading.runs, tag text);\n"
        "GRANT SELECT ON trading.run_tags TO gordon_api;\n",
    )
    reader = session_holder(gordon_db.dsn)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM trading.runs")
    pid = reader.info.backend_pid
    result = cli(
        "apply", "--dry-run", "--database-url", gordon_db.dsn, "--migrations-dir", str(root)
    )
    assert result.code == 0, result.err
    out = result.out
    assert f"{NEXT}_runs_notes.sql" in out
    # Rehearsed on the test server's scratch: the measured locks, not lint's guess.
    assert f"{NEXT}_runs_notes.sql: rehearsed just now on PostgreSQL" in out
    assert "    line 1: ACCESS EXCLUSIVE on trading.runs, blocks reads and writes" in out
    assert "    line 2: SHARE ROW EXCLUSIVE on trading.runs, blocks writes" in out
    assert "lock plan (statement:" not in out
    assert f"pid {pid} (test-holder, idle in transaction" in out
    assert "holds AccessShareLock on trading.runs" in out
    assert "apply would refuse" not in out
    as_json = json.loads(
        cli(
            "apply",
            "--dry-run",
            "--format",
            "json",
            "--database-url",
            gordon_db.dsn,
            "--migrations-dir",
            str(root),
        ).out
    )
    assert [h["pid"] for h in as_json["lock_plan"]["holders"]] == [pid]
    reader.execute("ROLLBACK")


def test_apply_leaves_a_file_pglast_cannot_parse_to_the_server(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    root = _bundle_plus(tmp_path, f"{NEXT}_typo.sql", "SELECT 1;\nSELEC 2;\n")
    result = cli("apply", "--database-url", gordon_db.dsn, "--migrations-dir", str(root))
    assert result.code == 1
    assert "SQLSTATE 42601" in result.error_line
    assert "syntax-error" not in result.error_line


def test_create_if_not_exists_of_an_existing_table_is_not_new(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "0039_ine.sql",
        "CREATE TABLE IF NOT EXISTS trading.runs (run_id bigint);\n"
        "CREATE INDEX runs_mode_idx ON trading.runs (mode);\n",
    )
    report = json.loads(cli("lint", "--format", "json", str(path)).out)
    assert [f["rule"] for f in report["findings"]] == ["index-not-concurrent"]


def test_type_change_without_rewrite_is_known_from_the_bundle(
    cli: CliRunner, tmp_path: Path
) -> None:
    """fills.fee is numeric(28,10) since 0004: a wider precision is a catalog change only
    (tests/test_lint_locks checks the relfilenode stays), a new scale rewrites."""
    path = _write(
        tmp_path,
        "0039_types.sql",
        "ALTER TABLE trading.fills ALTER COLUMN fee TYPE numeric(30,10);\n"
        "ALTER TABLE trading.fills ALTER COLUMN fee TYPE numeric(30,12);\n"
        "ALTER TABLE trading.order_intents ALTER COLUMN status_reason TYPE varchar(200);\n",
    )
    report = json.loads(cli("lint", "--format", "json", str(path)).out)
    assert [(f["line"], f["rule"]) for f in report["findings"]] == [
        (2, "alter-column-type"),
        (3, "alter-column-type"),
    ]


def test_dry_run_names_what_apply_would_refuse(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    root = _bundle_plus(
        tmp_path, f"{NEXT}_rename.sql", "ALTER TABLE trading.runs RENAME TO strategy_runs;\n"
    )
    result = cli(
        "apply", "--dry-run", "--database-url", gordon_db.dsn, "--migrations-dir", str(root)
    )
    assert result.code == 1, result.err
    assert f"apply would refuse: {NEXT}_rename.sql:1:1  rename-table" in result.out
    as_json = cli(
        "apply",
        "--dry-run",
        "--format",
        "json",
        "--database-url",
        gordon_db.dsn,
        "--migrations-dir",
        str(root),
    )
    assert as_json.code == 1, as_json.err
    payload = json.loads(as_json.out)
    assert payload["ok"] is False
    assert [f["rule"] for f in payload["lock_plan"]["refusals"]] == ["rename-table"]
    # Nothing refused: the same dry run exits 0 and says ok.
    clean = _bundle_plus(
        tmp_path / "clean", f"{NEXT}_col.sql", "ALTER TABLE trading.runs ADD COLUMN note text;\n"
    )
    fine = cli(
        "apply",
        "--dry-run",
        "--format",
        "json",
        "--database-url",
        gordon_db.dsn,
        "--migrations-dir",
        str(clean),
    )
    assert fine.code == 0, fine.err
    assert json.loads(fine.out)["ok"] is True


# Statement forms beyond the corpus (several would not even run here): the gate in `apply` must
# never crash on an unusual form, whatever it reports.
MANY_FORMS = """
ALTER TABLE ONLY trading.fills ADD COLUMN IF NOT EXISTS x int;
ALTER TABLE IF EXISTS nope.t DROP COLUMN IF EXISTS y;
ALTER INDEX trading.fills_pkey RENAME TO fills_pk;
ALTER VIEW market_data.candle_history RENAME TO ch;
ALTER TABLE market_data.candle_history RENAME COLUMN symbol TO sym;
CREATE RULE r AS ON INSERT TO trading.fills DO ALSO NOTIFY gordon_fills;
DROP SCHEMA bus CASCADE;
CREATE INDEX ON fills (fee);
DROP INDEX trading.a, b;
GRANT EXECUTE ON FUNCTION trading.ipc_notify_trigger() TO gordon_api;
GRANT gordon_api TO gordon_trading;
REVOKE ALL ON ALL TABLES IN SCHEMA trading FROM PUBLIC;
TRUNCATE trading.fills, trading.trades;
COPY trading.fills FROM STDIN;
CREATE TYPE trading.side AS ENUM ('buy','sell');
ALTER TYPE trading.side ADD VALUE 'short';
CREATE EXTENSION IF NOT EXISTS pgcrypto;
ALTER TABLE trading.fills ALTER COLUMN fee TYPE numeric USING fee::numeric,
    ALTER COLUMN fee SET DEFAULT 0;
ALTER TABLE trading.fills ADD PRIMARY KEY USING INDEX fills_pkey;
ALTER TABLE trading.fills ADD CONSTRAINT x EXCLUDE USING gist (fee WITH =);
CREATE TABLE trading.p (id int) PARTITION BY RANGE (id);
CREATE TABLE trading.p1 PARTITION OF trading.p FOR VALUES FROM (1) TO (10);
ALTER TABLE trading.p ATTACH PARTITION trading.p1 FOR VALUES FROM (1) TO (10);
CREATE MATERIALIZED VIEW trading.mv AS SELECT 1 AS a;
REFRESH MATERIALIZED VIEW CONCURRENTLY trading.mv;
SELECT pg_notify(chan, 'x') FROM (SELECT 'a' AS chan) s;
NOTIFY "Gordon Fills", 'payload';
WITH d AS (DELETE FROM trading.fills RETURNING *) SELECT count(*) FROM d;
UPDATE trading.fills f SET fee = 0 FROM trading.trades t;
CREATE OR REPLACE PROCEDURE trading.p() LANGUAGE sql BEGIN ATOMIC SELECT 1; END;
ALTER FUNCTION trading.ipc_notify_trigger() SECURITY DEFINER;
ALTER FUNCTION trading.ipc_notify_trigger() SET search_path = pg_catalog;
SET SESSION AUTHORIZATION gordon_api;
SET TIME ZONE 'UTC';
RESET ROLE;
DISCARD ALL;
SAVEPOINT a;
RELEASE SAVEPOINT a;
PREPARE TRANSACTION 'x';
LOCK trading.fills, trading.trades IN ROW EXCLUSIVE MODE;
CLUSTER;
VACUUM;
VACUUM (FULL, ANALYZE);
REINDEX INDEX CONCURRENTLY trading.fills_pkey;
REINDEX SCHEMA trading;
COMMENT ON COLUMN trading.fills.fee IS 'x';
COMMENT ON INDEX trading.fills_pkey IS 'x';
CREATE POLICY p ON trading.fills USING (true);
DROP POLICY p ON trading.fills;
DROP TRIGGER IF EXISTS t ON trading.fills;
ALTER TABLE trading.fills ENABLE ALWAYS TRIGGER fills_notify;
ALTER TABLE trading.fills REPLICA IDENTITY FULL;
ALTER TABLE trading.fills SET LOGGED;
ALTER TABLE trading.fills ALTER COLUMN fee ADD GENERATED ALWAYS AS IDENTITY;
ALTER TABLE trading.fills ALTER COLUMN fee SET DATA TYPE int8[];
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS x ON trading.fills USING btree (lower(fee_asset))
    INCLUDE (fee) WHERE fee > 0;
DO LANGUAGE plpgsql $$ BEGIN EXECUTE format('NOTIFY %I', 'x'); END $$;
CREATE FUNCTION f() RETURNS int RETURN 1;
CREATE TABLE trading.q AS SELECT * FROM trading.fills WITH NO DATA;
SELECT * INTO trading.r FROM trading.fills;
CREATE SEQUENCE trading.s;
ALTER SEQUENCE trading.s RESTART;
CREATE VIEW v AS WITH x AS (SELECT 1) SELECT * FROM x;
ALTER DEFAULT PRIVILEGES IN SCHEMA trading REVOKE ALL ON TABLES FROM PUBLIC;
SECURITY LABEL FOR selinux ON TABLE trading.fills IS 'x';
CREATE TABLE IF NOT EXISTS trading.fills (a int);
DROP TABLE IF EXISTS trading.nope, trading.nope2;
DROP VIEW market_data.candle_history;
DROP MATERIALIZED VIEW trading.mv;
"""


def test_unusual_statement_forms_lint_without_crashing(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "0039_forms.sql", MANY_FORMS)
    result = cli("lint", "--format", "json", str(path))
    assert result.code == 1, result.err
    found = {(f["line"], f["rule"]) for f in json.loads(result.out)["findings"]}
    lines = MANY_FORMS.splitlines()

    def at(prefix: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if line.startswith(prefix))

    assert (at("DROP SCHEMA bus"), "drop-table") in found
    assert (at("SELECT pg_notify(chan"), "notify-channel") in found
    assert (at("ALTER FUNCTION trading.ipc_notify_trigger() SECURITY"), "security-definer") in found
    assert (at("SAVEPOINT"), "transaction-control") in found
    assert (at("ALTER TABLE trading.fills SET LOGGED"), "table-rewrite-command") in found
    assert (at("CREATE TABLE IF NOT EXISTS trading.fills"), "grant-decision-missing") not in found


def test_a_static_lint_loads_no_driver(tmp_path: Path) -> None:
    """Without a server, lint needs no PostgreSQL driver: psycopg (~0.1 s of a run) stays
    unloaded, as for the 1,000-file speed target (bench/bench_lint.py --speed)."""
    draft = tmp_path / "0039_draft.sql"
    draft.write_text("ALTER TABLE trading.runs ADD COLUMN note text;\n")
    for fmt in ("text", "json", "sarif"):
        code = (
            "import sys\n"
            "from gordon_migrate.cli import main\n"
            "try:\n"
            f"    main(['lint', '--format', {fmt!r}, {str(draft)!r}])\n"
            "except SystemExit as done:\n"
            "    assert done.code == 0, done.code\n"
            "heavy = ('psycopg', 'gordon_migrate.core.db')\n"
            "loaded = sorted(m for m in heavy if m in sys.modules)\n"
            "assert not loaded, loaded\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
        )
        assert done.returncode == 0, (fmt, done.stderr)
