"""drift-check against real out-of-band changes: each must fail the run and name the object."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.drift import drift, execute, failing, find


def test_freshly_migrated_database_passes(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    result = cli("drift-check", "--database-url", gordon_db.dsn)
    assert result.code == 0, result.out
    for title in ("schema checksum", "grant matrix", "column grant matrix", "NOTIFY allowlist"):
        assert f"  ok    {title}" in result.out
    assert "no drift: the database is exactly what the migrations built" in result.out


def test_drift_reader_login_passes_without_warning(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    code, payload, err = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 0, failing(payload)
    assert payload["role"] == "gordon_drift_reader"
    assert payload["warnings"] == []
    events = [json.loads(line) for line in err.splitlines()]
    assert [e for e in events if e["level"] == "warning"] == []
    expected, actual = payload["schema_checksum"]["expected"], payload["schema_checksum"]["actual"]
    assert expected == actual
    assert len(actual) == 64


def test_a_role_that_could_write_is_warned_about(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    code, payload, err = drift(cli, gordon_db.dsn)
    assert code == 0
    assert payload["warnings"] == [
        "connected as postgres, which could write (superuser): drift-check only reads, "
        "run it as gordon_drift_reader"
    ]
    warnings = [json.loads(line) for line in err.splitlines() if '"warning"' in line]
    assert warnings[0]["role"] == "postgres"
    assert warnings[0]["could"] == "superuser"


def test_a_runtime_role_with_write_grants_is_warned_about(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_trading"))
    assert code == 0, failing(payload)
    assert payload["warnings"][0].startswith(
        "connected as gordon_trading, which could write (write access to "
    )


def test_a_column_grant_alone_is_write_access(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    # Through a role it is a member of, as a grant to PUBLIC would be: only the column's ACL
    # gives it, no table privilege does.
    execute(gordon_db, "CREATE ROLE gordon_test_column_writer NOLOGIN")
    try:
        execute(
            gordon_db,
            "GRANT gordon_test_column_writer TO gordon_drift_reader",
            "GRANT UPDATE (strategy) ON trading.runs TO gordon_test_column_writer",
        )
        code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
        assert code == 1  # the grant itself is drift
        assert payload["warnings"] == [
            "connected as gordon_drift_reader, which could write (write access to "
            "trading.runs): drift-check only reads, run it as gordon_drift_reader"
        ]
    finally:
        execute(
            gordon_db,
            "REVOKE UPDATE (strategy) ON trading.runs FROM gordon_test_column_writer",
            "DROP ROLE gordon_test_column_writer",
        )


def test_json_structure(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    execute(gordon_db, "GRANT DELETE ON trading.runs TO gordon_api")
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    assert set(payload) == {
        "ok",
        "database",
        "target",
        "role",
        "server_version",
        "duration_s",
        "fixtures",
        "schema_checksum",
        "warnings",
        "unchecked",
        "checks",
    }
    assert payload["ok"] is False
    assert payload["database"] == gordon_db.name
    assert [c["name"] for c in payload["checks"]] == [
        "schema",
        "grants",
        "column_grants",
        "notify",
        "builtins",
    ]
    assert [c["ok"] for c in payload["checks"]] == [True, False, True, True, True]
    assert payload["checks"][1]["differences"] == [
        {
            "object": "grant on table trading.runs to gordon_api",
            "kind": "changed",
            "expected": "privileges: SELECT",
            "actual": "privileges: DELETE, SELECT",
            "diff": None,
            "detail": None,
            "fix": 'REVOKE DELETE ON TABLE trading.runs FROM "gordon_api";',
            "fix_note": None,
            "members": [],
        }
    ]
    assert 0 < payload["duration_s"] < 60
    assert payload["server_version"].split(".")[0] == str(gordon_db.server.version)


# --- out-of-band changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """An out-of-band change and the difference it must produce."""

    sql: tuple[str, ...]
    check: str
    kind: str
    object: str
    undo: tuple[str, ...] = ()  # cluster-wide changes (roles) are undone after the test


def _function_def(db: GordonDatabase, name: str) -> str:
    with db.connect() as conn:
        row = conn.execute("SELECT pg_get_functiondef(%s::regprocedure)", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def _view_def(db: GordonDatabase, name: str) -> str:
    with db.connect() as conn:
        row = conn.execute("SELECT pg_get_viewdef(%s::regclass)", (name,)).fetchone()
    assert row is not None
    return str(row[0]).strip().rstrip(";")


CASES: dict[str, Drift] = {
    "table added": Drift(
        ("CREATE TABLE trading.rogue (id int)",), "schema", "unexpected", "table trading.rogue"
    ),
    "column added": Drift(
        ("ALTER TABLE trading.runs ADD COLUMN rogue text",),
        "schema",
        "unexpected",
        "column trading.runs.rogue",
    ),
    "column dropped": Drift(
        ("ALTER TABLE trading.runs DROP COLUMN strategy_code_revision",),
        "schema",
        "missing",
        "column trading.runs.strategy_code_revision",
    ),
    "column retyped": Drift(
        ("ALTER TABLE trading.runs ALTER COLUMN strategy_version TYPE varchar(200)",),
        "schema",
        "changed",
        "column trading.runs.strategy_version",
    ),
    "column default": Drift(
        ("ALTER TABLE trading.runs ALTER COLUMN quote_asset SET DEFAULT 'USDT'",),
        "schema",
        "changed",
        "column trading.runs.quote_asset",
    ),
    "index added": Drift(
        ("CREATE INDEX rogue_idx ON trading.runs (strategy)",),
        "schema",
        "unexpected",
        "index trading.rogue_idx",
    ),
    "index dropped": Drift(
        ("DROP INDEX trading.bot_leases_worker_id_idx",),
        "schema",
        "missing",
        "index trading.bot_leases_worker_id_idx",
    ),
    "constraint dropped": Drift(
        ("ALTER TABLE trading.runs DROP CONSTRAINT runs_mode_check",),
        "schema",
        "missing",
        "constraint trading.runs.runs_mode_check",
    ),
    "trigger dropped": Drift(
        ("DROP TRIGGER fills_notify ON trading.fills",),
        "schema",
        "missing",
        "trigger trading.fills.fills_notify",
    ),
    "trigger disabled": Drift(
        ("ALTER TABLE trading.fills DISABLE TRIGGER fills_notify",),
        "schema",
        "changed",
        "trigger trading.fills.fills_notify",
    ),
    "policy changed": Drift(
        ("ALTER POLICY bot_leases_read_all ON trading.bot_leases TO gordon_bots",),
        "schema",
        "changed",
        "policy trading.bot_leases.bot_leases_read_all",
    ),
    "RLS disabled": Drift(
        ("ALTER TABLE trading.bot_configs DISABLE ROW LEVEL SECURITY",),
        "schema",
        "changed",
        "table trading.bot_configs",
    ),
    "owner changed": Drift(
        ("ALTER TABLE trading.runs OWNER TO gordon_api",),
        "schema",
        "changed",
        "table trading.runs",
    ),
    "table grant": Drift(
        ("GRANT DELETE ON trading.runs TO gordon_api",),
        "grants",
        "changed",
        "grant on table trading.runs to gordon_api",
    ),
    "table revoke": Drift(
        ("REVOKE SELECT ON trading.runs FROM gordon_risk",),
        "grants",
        "missing",
        "grant on table trading.runs to gordon_risk",
    ),
    "grant to a new grantee": Drift(
        ("GRANT SELECT ON trading.bot_configs TO gordon_ingest",),
        "grants",
        "unexpected",
        "grant on table trading.bot_configs to gordon_ingest",
    ),
    "column grant": Drift(
        ("GRANT UPDATE (strategy) ON trading.runs TO gordon_trading",),
        "column_grants",
        "unexpected",
        "grant on column trading.runs.strategy to gordon_trading",
    ),
    "CREATE on a schema to a runtime role": Drift(
        ("GRANT CREATE ON SCHEMA trading TO gordon_trading",),
        "grants",
        "changed",
        "grant on schema trading to gordon_trading",
    ),
    "EXECUTE to PUBLIC": Drift(
        ("GRANT EXECUTE ON FUNCTION trading.risk_state_guard() TO PUBLIC",),
        "grants",
        "unexpected",
        "grant on function trading.risk_state_guard() to PUBLIC",
    ),
    "default privileges": Drift(
        ("ALTER DEFAULT PRIVILEGES IN SCHEMA trading GRANT SELECT ON TABLES TO gordon_api",),
        "grants",
        "unexpected",
        "default privileges of <migrator> in schema trading on tables to gordon_api",
    ),
    "role made superuser": Drift(
        ("ALTER ROLE gordon_api SUPERUSER",),
        "grants",
        "changed",
        "role gordon_api",
        undo=("ALTER ROLE gordon_api NOSUPERUSER",),
    ),
    "role given BYPASSRLS": Drift(
        ("ALTER ROLE gordon_bots BYPASSRLS",),
        "grants",
        "changed",
        "role gordon_bots",
        undo=("ALTER ROLE gordon_bots NOBYPASSRLS",),
    ),
    "reader made superuser": Drift(
        ("ALTER ROLE gordon_drift_reader SUPERUSER",),
        "grants",
        "changed",
        "role gordon_drift_reader",
        undo=("ALTER ROLE gordon_drift_reader NOSUPERUSER",),
    ),
    "runtime role given a membership": Drift(
        ("GRANT pg_write_all_data TO gordon_api",),
        "grants",
        "unexpected",
        "membership of gordon_api in pg_write_all_data",
        undo=("REVOKE pg_write_all_data FROM gordon_api",),
    ),
    "new NOTIFY channel on a trigger": Drift(
        (
            "CREATE TRIGGER rogue_notify AFTER INSERT ON trading.runs FOR EACH ROW "
            "EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_rogue', 'run_id')",
        ),
        "notify",
        "unexpected",
        "channel gordon_rogue",
    ),
    "new NOTIFY channel in a function": Drift(
        (
            "CREATE FUNCTION trading.rogue() RETURNS void LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('rogue_channel', 'x'); END $$",
        ),
        "notify",
        "unexpected",
        "channel rogue_channel",
    ),
    "NOTIFY channel not static": Drift(
        (
            "CREATE FUNCTION trading.rogue(chan text) RETURNS void LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify(chan, 'x'); END $$",
        ),
        "notify",
        "unexpected",
        "NOTIFY in function trading.rogue(chan text)",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_out_of_band_change_fails_and_names_the_object(
    cli: CliRunner, gordon_db: GordonDatabase, case: str
) -> None:
    change = CASES[case]
    try:
        execute(gordon_db, *change.sql)
        code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
        text = cli("drift-check", "--database-url", gordon_db.dsn_as("gordon_drift_reader"))
    finally:
        execute(gordon_db, *change.undo)
    assert code == 1
    assert payload["ok"] is False
    difference = find(payload, change.check, change.object)
    assert difference["kind"] == change.kind
    assert text.code == 1
    assert f"  {change.kind:<10}  {change.object}" in text.out


def test_function_body_replaced_shows_a_unified_diff(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    original = _function_def(gordon_db, "trading.risk_state_guard()")
    tampered = original.replace("BEGIN", "BEGIN\n    PERFORM 1;  -- tampered", 1)
    assert tampered != original
    execute(gordon_db, tampered)
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 1
    difference = find(payload, "schema", "function trading.risk_state_guard()")
    assert difference["kind"] == "changed"
    assert difference["diff"].startswith("--- expected\n+++ actual\n@@")
    assert "\n+        PERFORM 1;  -- tampered" in difference["diff"]
    text = cli("drift-check", "--database-url", gordon_db.dsn)
    assert "      +        PERFORM 1;  -- tampered" in text.out
    assert set(failing(payload)) == {"schema"}, "only the body changed"


def test_view_redefined(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    definition = _view_def(gordon_db, "market_data.instrument_directory")
    execute(
        gordon_db,
        f"CREATE OR REPLACE VIEW market_data.instrument_directory AS {definition} "
        "WHERE instruments.is_active",
    )
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 1
    difference = find(payload, "schema", "view market_data.instrument_directory")
    assert difference["kind"] == "changed"
    assert "+      WHERE is_active" in difference["diff"]


def test_missing_object_shows_its_expected_definition(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    execute(gordon_db, "DROP TRIGGER fills_notify ON trading.fills")
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 1
    difference = find(payload, "schema", "trigger trading.fills.fills_notify")
    assert difference["actual"] is None
    assert (
        "definition: CREATE TRIGGER fills_notify AFTER INSERT ON trading.fills"
        in (difference["expected"])
    )
    notify = find(payload, "notify", "channel gordon_fills")
    assert notify["kind"] == "missing"


def test_an_unknown_role_granted_something_is_described(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    role = f"mallory_{gordon_db.name}"
    execute(gordon_db, f"CREATE ROLE {role} BYPASSRLS", f"GRANT SELECT ON trading.runs TO {role}")
    try:
        code, payload, _ = drift(cli, gordon_db.dsn)
    finally:
        execute(gordon_db, f"REVOKE ALL ON trading.runs FROM {role}", f"DROP ROLE {role}")
    assert code == 1
    assert find(payload, "grants", f"grant on table trading.runs to {role}")["kind"] == "unexpected"
    described = find(payload, "grants", f"role {role}")
    assert "bypassrls: yes" in described["actual"]


# --- what is not drift -----------------------------------------------------------------------


def test_snapshot_ignores_oids_and_creation_order(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    """Objects dropped and recreated identically (new OIDs, new order) are not drift."""
    index = "trading.bot_leases_worker_id_idx"
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT pg_get_indexdef(%s::regclass)", (index,)).fetchone()
        assert row is not None
        guard = _function_def(gordon_db, "trading.risk_state_guard()")
        trigger = conn.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'fills_notify'"
        ).fetchone()
        assert trigger is not None
        with conn.transaction():
            conn.execute(f"DROP INDEX {index}")
            conn.execute("DROP TRIGGER fills_notify ON trading.fills")
            conn.execute("CREATE TABLE trading.zz_filler (id int)")  # consume OIDs
            conn.execute(str(trigger[0]))
            conn.execute(str(row[0]))
            conn.execute("DROP TABLE trading.zz_filler")
            conn.execute(guard.encode())
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 0, failing(payload)


def test_public_schema_owner_is_the_templates(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    """A database created before PostgreSQL 15 and upgraded has public owned by the bootstrap
    superuser, not pg_database_owner: not drift. Any other owner is."""
    execute(gordon_db, "ALTER SCHEMA public OWNER TO postgres")
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 0, failing(payload)
    execute(gordon_db, "ALTER SCHEMA public OWNER TO gordon_api")
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 1
    assert find(payload, "schema", "schema public")["actual"] == "owner: gordon_api"
    assert find(payload, "grants", "grant on schema public to gordon_api")["kind"] == "unexpected"


def test_the_tools_bookkeeping_is_not_schema(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    """The history table and the recovery audit trail (public.gordon_migrate_audit)."""
    execute(
        gordon_db,
        "CREATE TABLE public.gordon_migrate_audit (at timestamptz NOT NULL DEFAULT now(), "
        "action text NOT NULL)",
        "CREATE INDEX ON public.gordon_migrate_audit (at)",
        "INSERT INTO public._sqlx_migrations (version, description, success, checksum, "
        "execution_time) VALUES (9999, 'row', true, '\\x00', 1)",
    )
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 0, failing(payload)
    execute(gordon_db, "CREATE TABLE public.gordon_migrate_other (at timestamptz)")
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 1
    assert find(payload, "schema", "table public.gordon_migrate_other")["kind"] == "unexpected"


def test_data_is_not_drift(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    execute(gordon_db, "SELECT nextval('trading.runs_run_id_seq')", "ANALYZE")
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 0, failing(payload)


def test_a_database_never_migrated_is_all_missing(
    cli: CliRunner, gordon_empty_db: GordonDatabase
) -> None:
    code, payload, _ = drift(cli, gordon_empty_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    assert payload["warnings"] == [
        f"database {gordon_empty_db.name} has no migration history (public._sqlx_migrations): "
        "it was never migrated, or this is not the Gordon database"
    ]
    kinds = {d["kind"] for d in failing(payload)["schema"]}
    assert kinds == {"missing"}
    assert find(payload, "schema", "table trading.runs")["actual"] is None


# --- the database cannot be checked ------------------------------------------------------------


def test_no_database_is_exit_1(cli: CliRunner) -> None:
    result = cli("drift-check", "--database-url", "postgresql://u:s3cr3tpw@127.0.0.1:9/x")
    assert result.code == 1
    assert "cannot connect to postgresql://u:***@127.0.0.1:9/x" in result.error_line
    assert "s3cr3tpw" not in result.out + result.err


def test_connection_failure_in_json_is_an_error_object(cli: CliRunner) -> None:
    result = cli(
        "drift-check", "--format", "json", "--database-url", "postgresql://u@127.0.0.1:9/x"
    )
    assert result.code == 1
    assert json.loads(result.out)["error"]["kind"] == "connect"


def test_missing_fixtures_are_exit_1(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Any
) -> None:
    result = cli("drift-check", "--database-url", gordon_db.dsn, "--fixtures-dir", str(tmp_path))
    assert result.code == 1
    assert result.error_line.startswith(f"no drift fixtures in {tmp_path}")


def test_hand_edited_fixtures_are_refused(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Any
) -> None:
    from gordon_migrate.drift import fixtures

    for name in fixtures.ALL_FILES:
        (tmp_path / name).write_text((fixtures.bundled_dir() / name).read_text())
    schema = tmp_path / "schema.txt"
    schema.write_text(schema.read_text().replace("\tyes\n", "\tno\n", 1))
    result = cli("drift-check", "--database-url", gordon_db.dsn, "--fixtures-dir", str(tmp_path))
    assert result.code == 1
    assert "does not match schema.sha256" in result.error_line


Execute = Callable[..., None]


def test_catalog_query_count_is_constant(gordon_db: GordonDatabase) -> None:
    from gordon_migrate.core import db, dsn
    from gordon_migrate.drift import snapshot

    def count() -> tuple[int, int]:
        target = dsn.parse(gordon_db.dsn_as("gordon_drift_reader"))
        with db.connect(
            target, purpose="test", read_only=True, options=snapshot.SESSION_SETTINGS
        ) as conn:
            snap = snapshot.take(conn)
        return snap.queries, len(snap.sections["schema"])

    before, lines_before = count()
    with gordon_db.connect() as conn:
        for i in range(60):
            conn.execute(f"CREATE TABLE trading.extra_{i} (id int PRIMARY KEY, v text)")
            conn.execute(f"GRANT SELECT ON trading.extra_{i} TO gordon_api")
    after, lines_after = count()
    assert lines_after > lines_before + 60 * 4
    assert after == before


@pytest.mark.embedded_only("builds a standby from the embedded server's binaries")
def test_read_only_end_to_end_on_a_standby(
    cli: CliRunner, gordon_db: GordonDatabase, standby_dsn: str
) -> None:
    """A hot standby accepts no write at all: drift-check passes there."""
    import time

    target = psycopg.conninfo.make_conninfo(standby_dsn, dbname=gordon_db.name)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(target) as conn:
                conn.execute("SELECT 1 FROM trading.runs LIMIT 0")
            break
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    code, payload, _ = drift(cli, target)
    assert code == 0, failing(payload)
