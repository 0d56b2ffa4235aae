"""--fix-sql never blocks and never overreaches: the least-locking form, a lock plan at the
top, nothing that is not Gordon's; the TUI shows the same plan before its confirmation."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from gordon_migrate.core import dsn
from gordon_migrate.core.errors import DriftError
from gordon_migrate.drift import build_fixtures, restore, run_drift_check
from gordon_migrate.drift import fixtures as drift_fixtures
from gordon_migrate.sql.split import split
from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.drift import DriftScreen, FixModal
from tests.support.cli import CliRunner
from tests.support.drift import drift, execute, failing, find
from tests.support.tui import confirm_typed, drive, loaded, make_app_with_fixtures, wait_for

NOT_MEASURED = "-- Lock plan (static, NOT measured: "


def apply_script(db: GordonDatabase, script: str) -> None:
    """Statement by statement, as ``psql -f`` runs it."""
    with db.connect() as conn:
        for statement in split(script):
            conn.execute(statement.text.encode())


def fix_sql(cli: CliRunner, db: GordonDatabase, *args: str) -> str:
    result = cli("drift-check", "--database-url", db.dsn, "--fix-sql", *args)
    assert result.code == 1, result.out
    return result.out


def test_an_invalid_index_is_rebuilt_concurrently_after_the_transaction(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    """Not DROP INDEX + CREATE INDEX in the transaction (a blocking rebuild of a hot table):
    built CONCURRENTLY under a new name, then swapped, each statement on its own."""
    execute(
        gordon_db,
        "UPDATE pg_index SET indisvalid = false "
        "WHERE indexrelid = 'trading.fills_filled_at_idx'::regclass",
        "INSERT INTO public._sqlx_migrations (version, description, success, checksum, "
        "execution_time) VALUES (9999, 'row', true, '\\x00', 1)",
    )
    script = fix_sql(cli, gordon_db)
    head, _, after = script.partition("\nCOMMIT;\n")
    assert "INDEX" not in head.partition("BEGIN;")[2], "nothing about the index in the transaction"
    assert "CREATE INDEX CONCURRENTLY" in after
    assert "DROP INDEX CONCURRENTLY trading.fills_filled_at_idx;" in after
    assert "RENAME TO fills_filled_at_idx;" in after
    plan = [line for line in head.split("\n") if line.startswith("--   ") or "on trading" in line]
    assert any("SHARE UPDATE EXCLUSIVE on trading.fills:" in line for line in plan), plan
    assert not any("ACCESS EXCLUSIVE on trading.fills" in line for line in plan), plan
    apply_script(gordon_db, script)
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 0, failing(payload)
    with gordon_db.connect() as conn:
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'trading.fills_filled_at_idx'"
            "::regclass"
        ).fetchone()
    assert row == (True,)


def test_the_lock_plan_is_at_the_top_and_says_it_is_not_measured(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    execute(
        gordon_db,
        "ALTER TABLE trading.bot_configs DISABLE ROW LEVEL SECURITY",
        "GRANT DELETE ON trading.runs TO gordon_api",
    )
    script = fix_sql(cli, gordon_db)
    top = script.partition("BEGIN;")[0]
    assert NOT_MEASURED in top
    assert "--     ACCESS EXCLUSIVE on trading.bot_configs: brief: the catalog only" in top
    assert "trading.runs" not in top, "a GRANT or REVOKE locks no table"


def test_only_privileges_take_no_table_lock(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    execute(gordon_db, "GRANT DELETE ON trading.runs TO gordon_api")
    top = fix_sql(cli, gordon_db).partition("BEGIN;")[0]
    assert "--   no lock on any table or index (privileges, roles, settings only)" in top


def test_the_bootstrap_superusers_parameter_privileges_are_never_revoked(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    """GRANT SET ON PARAMETER makes a cluster-wide pg_parameter_acl row holding the bootstrap
    superuser's own privileges: only the Gordon role's grant is taken back."""
    execute(gordon_db, "GRANT SET ON PARAMETER lock_timeout TO gordon_trading")
    try:
        code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
        assert code == 1
        assert [d["object"] for d in failing(payload)["grants"]] == [
            "grant on parameter ACL lock_timeout to gordon_trading"
        ]
        script = fix_sql(cli, gordon_db)
        assert 'REVOKE SET ON PARAMETER lock_timeout FROM "gordon_trading";' in script
        assert 'FROM "postgres"' not in script
        apply_script(gordon_db, script)
        code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
        assert code == 0, failing(payload)
        with gordon_db.connect() as conn:
            row = conn.execute(
                "SELECT paracl::text[] FROM pg_parameter_acl WHERE parname = 'lock_timeout'"
            ).fetchone()
        # Gone with the last grant, or the superuser's own: never an emptied row left behind.
        assert row is None or row[0] != [], row
    finally:
        execute(gordon_db, "REVOKE SET ON PARAMETER lock_timeout FROM gordon_trading")


def test_what_is_not_gordons_is_a_comment_with_the_exact_command(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    execute(
        gordon_db,
        "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_notify(text, text) FROM PUBLIC",
        "CREATE ROLE drift_other_fix",
        "GRANT pg_read_all_data TO drift_other_fix",
    )
    try:
        script = fix_sql(cli, gordon_db)
    finally:
        execute(gordon_db, "DROP ROLE drift_other_fix")
    body = script.partition("BEGIN;")[2].partition("COMMIT;")[0]
    assert "pg_notify" not in body and "drift_other_fix" not in body
    assert (
        "-- missing: built-in: grant on function pg_catalog.pg_notify(text, text) to PUBLIC: "
        "PostgreSQL's own object (drift-check's script never changes what Gordon does not "
        "own): a superuser runs: GRANT EXECUTE ON FUNCTION pg_catalog.pg_notify(text, text) "
        "TO PUBLIC;"
    ) in script
    assert (
        "-- unexpected: membership of drift_other_fix in pg_read_all_data: drift_other_fix is "
        "not a Gordon role (drift-check's script never changes what Gordon does not own): a "
        'role that can grant pg_read_all_data runs: REVOKE "pg_read_all_data" FROM '
        '"drift_other_fix";'
    ) in script


def test_a_setting_of_every_role_in_every_database_is_a_comment(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    """ALTER ROLE ALL SET reaches every database of the cluster: the script leaves it to a
    superuser, with the exact command, and restores the rest."""
    execute(
        gordon_db,
        "ALTER ROLE ALL SET idle_session_timeout = '1h'",
        "GRANT DELETE ON trading.runs TO gordon_api",
    )
    try:
        script = fix_sql(cli, gordon_db)
        body = script.partition("BEGIN;")[2].partition("COMMIT;")[0]
        assert "ALTER ROLE ALL" not in body
        assert (
            "-- unexpected: all roles in all databases: applies in every database of the "
            "cluster, not only this one (drift-check's script never changes another "
            "database): a superuser who checked them runs: ALTER ROLE ALL RESET "
            "idle_session_timeout;"
        ) in script
        apply_script(gordon_db, script)
        code, payload, _ = drift(cli, gordon_db.dsn)
        assert code == 1
        assert [(c, d["object"]) for c, ds in failing(payload).items() for d in ds] == [
            ("grants", "all roles in all databases")
        ]
        with gordon_db.connect() as conn:
            row = conn.execute(
                "SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = 0 AND setrole = 0"
            ).fetchone()
        assert row == (["idle_session_timeout=1h"],)
    finally:
        execute(gordon_db, "ALTER ROLE ALL RESET idle_session_timeout")


def test_a_generated_expression_and_a_sequence_are_restored_in_place(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    """Pinned with a generated column (fixtures of the database as it is then): its
    expression comes back with SET EXPRESSION (PostgreSQL 17+; before, a note), its sequence's
    options with ALTER SEQUENCE, no row lost."""
    execute(
        gordon_db,
        "CREATE TABLE trading.gen_demo (a int, b int GENERATED ALWAYS AS (a * 2) STORED)",
        "CREATE SEQUENCE trading.gen_demo_seq INCREMENT BY 2 MAXVALUE 500",
        "INSERT INTO trading.gen_demo (a) VALUES (1), (2)",
    )
    pinned = tmp_path / "fixtures"
    drift_fixtures.write(build_fixtures(dsn.parse(gordon_db.dsn)), pinned)
    modern = gordon_db.server.version >= 17
    execute(
        gordon_db,
        "ALTER SEQUENCE trading.gen_demo_seq INCREMENT BY 9 NO MAXVALUE CYCLE",
        *(
            ["ALTER TABLE trading.gen_demo ALTER COLUMN b SET EXPRESSION AS (a * 3)"]
            if modern
            else []
        ),
    )
    code, payload, _ = drift(cli, gordon_db.dsn, "--fixtures-dir", str(pinned))
    assert code == 1
    sequence = find(payload, "schema", "sequence trading.gen_demo_seq")
    assert sequence["fix"] == (
        "ALTER SEQUENCE trading.gen_demo_seq INCREMENT BY 2 MAXVALUE 500 NO CYCLE;"
    )
    if modern:
        column = find(payload, "schema", "column trading.gen_demo.b")
        assert column["fix"] == (
            "ALTER TABLE trading.gen_demo ALTER COLUMN b SET EXPRESSION AS ((a * 2));"
        )
    apply_script(gordon_db, fix_sql(cli, gordon_db, "--fixtures-dir", str(pinned)))
    code, payload, _ = drift(cli, gordon_db.dsn, "--fixtures-dir", str(pinned))
    assert code == 0, failing(payload)
    with gordon_db.connect() as conn:
        rows = conn.execute("SELECT a, b FROM trading.gen_demo ORDER BY a").fetchall()
    assert rows == [(1, 2), (2, 4)]


def test_the_tui_shows_the_lock_plan_before_the_typed_confirmation(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    app = make_app_with_fixtures(gordon_db, tmp_path)
    execute(
        gordon_db,
        "UPDATE pg_index SET indisvalid = false "
        "WHERE indexrelid = 'trading.order_events_intent_id_idx'::regclass",
    )

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("3")
        await loaded(pilot, DriftScreen)
        await pilot.press("f")
        shown = await confirm_typed(pilot, FixModal)
        assert "Lock plan (static, NOT measured:" in shown
        assert "SHARE UPDATE EXCLUSIVE on trading.order_events:" in shown
        assert shown.index("Lock plan") < shown.index("CREATE INDEX CONCURRENTLY")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, DriftScreen)
                and app.screen.data is not None
                and app.screen.data.ok
            ),
            "the Drift screen to reload clean",
        )

    drive(app, scenario)


_DUPLICATES = (
    "DROP INDEX trading.risk_config_version_key",
    "CREATE INDEX risk_config_version_key ON trading.risk_config USING btree (scope, "
    "COALESCE(bot_id, ''::text), COALESCE(instrument_id, (0)::bigint), effective_from)",
    *[
        "INSERT INTO trading.risk_config (scope, created_by, max_daily_loss, max_open_orders, "
        "max_order_notional, max_position_notional, effective_from) "
        "VALUES ('global', 'ops', 1, 1, 1, 1, '2026-01-01')"
    ]
    * 2,
)


def test_a_unique_index_that_cannot_be_rebuilt_fails_after_the_commit_naming_it(
    gordon_db: GordonDatabase,
) -> None:
    """The pinned UNIQUE index was made plain and duplicates went in: its CONCURRENTLY
    rebuild fails after the transaction committed; the error says so and what to do, the
    rows are all there, and drift-check still names the index."""
    execute(gordon_db, *_DUPLICATES)
    target = dsn.parse(gordon_db.dsn)
    plan = restore.plan_fix(target)
    assert plan is not None
    assert any("CREATE UNIQUE INDEX CONCURRENTLY" in text for text in plan.after)
    try:
        restore.run_fix(target, plan, reason="test")
    except DriftError as exc:
        message = str(exc)
    else:
        raise AssertionError("the rebuild of a unique index over duplicates succeeded")
    assert "\n" not in message
    assert message.startswith(
        f"restoring the drift of database {gordon_db.name}: its transaction was committed "
        "(audited), then 'CREATE UNIQUE INDEX CONCURRENTLY "
    )
    assert "failed: SQLSTATE 23505: " in message
    assert message.endswith(
        "run drift-check again: it names what is left (an INVALID index left behind is "
        "dropped first by the next fix)"
    )
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM trading.risk_config").fetchone()
    assert row == (2,)
    report = run_drift_check(target)
    assert "index trading.risk_config_version_key" in {
        d.object for c in report.checks for d in c.differences
    }


def test_the_lock_plan_reads_each_form_of_statement_a_fix_writes() -> None:
    """Each statement form the fixer writes, with the lock PostgreSQL documents for it; the
    strongest per relation, in the transaction and after it."""
    from gordon_migrate.drift import lockplan

    inside = [
        "ALTER TABLE trading.runs DISABLE TRIGGER ALL;",
        "ALTER TABLE trading.runs ENABLE ROW LEVEL SECURITY;",
        "CREATE TRIGGER t AFTER INSERT ON trading.fills FOR EACH ROW EXECUTE FUNCTION f();",
        "ALTER SEQUENCE trading.runs_run_id_seq INCREMENT BY 1;",
        "ALTER TABLE trading.order_events RESET (fillfactor);",
        "ALTER TABLE trading.equity ALTER COLUMN a SET EXPRESSION AS ((b * 2));",
        "CREATE OR REPLACE VIEW market_data.candle_history AS\nSELECT 1;",
        'GRANT SELECT ON TABLE trading.trades TO "gordon_api";',
        "ALTER ROLE \"gordon_api\" VALID UNTIL 'infinity';",
        "ALTER TABLE trading.equity ADD CONSTRAINT e_fk FOREIGN KEY (run_id) "
        "REFERENCES trading.runs(run_id);",
        "ALTER TABLE trading.fills DROP CONSTRAINT f_fk;\n-- also locks trading.trades ACCESS "
        "EXCLUSIVE: the foreign key's triggers on it are dropped",
        "ALTER VIEW market_data.latest_candles RESET (security_barrier);",
    ]
    after = [
        "CREATE INDEX CONCURRENTLY x_new ON trading.bot_leases USING btree (worker_id);",
        "DROP INDEX CONCURRENTLY trading.x;",
    ]
    found = lockplan.locks(inside, in_transaction=True) + lockplan.locks(
        after, in_transaction=False
    )
    assert [(lock.relation, lock.mode, lock.in_transaction) for lock in found] == [
        ("trading.runs", "SHARE ROW EXCLUSIVE", True),
        ("trading.runs", "ACCESS EXCLUSIVE", True),
        ("trading.fills", "SHARE ROW EXCLUSIVE", True),
        ("trading.runs_run_id_seq", "SHARE ROW EXCLUSIVE", True),
        ("trading.order_events", "SHARE UPDATE EXCLUSIVE", True),
        ("trading.equity", "ACCESS EXCLUSIVE", True),
        ("market_data.candle_history", "ACCESS EXCLUSIVE", True),
        ("trading.equity", "SHARE ROW EXCLUSIVE", True),
        ("trading.runs", "SHARE ROW EXCLUSIVE", True),
        ("trading.trades", "ACCESS EXCLUSIVE", True),
        ("trading.fills", "ACCESS EXCLUSIVE", True),
        ("market_data.latest_candles", "ACCESS EXCLUSIVE", True),
        ("trading.bot_leases", "SHARE UPDATE EXCLUSIVE", False),
        ("trading.x", "SHARE UPDATE EXCLUSIVE", False),
    ]
    lines = lockplan.plan_lines(found)
    assert lines[1:5] == [
        "  in the transaction, held until COMMIT:",
        "    ACCESS EXCLUSIVE on market_data.candle_history: on the view: queries through it "
        "wait (briefly)",
        "    ACCESS EXCLUSIVE on market_data.latest_candles: on the view: queries through it "
        "wait (briefly)",
        "    ACCESS EXCLUSIVE on trading.equity: rewrites the table: everything waits meanwhile",
    ]
    assert "    ACCESS EXCLUSIVE on trading.runs: brief: the catalog only, no scan" in lines
    assert "  after COMMIT, one statement at a time:" in lines
