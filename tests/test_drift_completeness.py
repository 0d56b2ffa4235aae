"""drift-check covers every catalog, and --fix-sql puts each provoked drift back.

Each case is a real out-of-band change: drift-check (as gordon_drift_reader) must exit 1 and
name the object; the script of ``--fix-sql``, applied as the migration role, must make
drift-check clean again without losing a row. What is deliberately not drift is provoked
too, and must stay clean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gordon_migrate.drift.catalogs import CATALOGS
from gordon_migrate.recovery import audit
from gordon_migrate.sqlsplit import split
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.drift import drift, execute, failing, find, wait_reader_sessions_gone


@dataclass(frozen=True)
class Drift:
    """An out-of-band change (``{db}``: the database's name) and the difference it makes."""

    sql: tuple[str, ...]
    check: str
    kind: str
    object: str
    undo: tuple[str, ...] = ()  # cluster-wide changes are undone after the test
    fixable: bool = True


CASES: dict[str, Drift] = {
    "database setting": Drift(
        ("ALTER DATABASE {db} SET session_replication_role = replica",),
        "grants",
        "changed",
        "database <this database>",
    ),
    "setting for all roles in this database": Drift(
        ("ALTER ROLE ALL IN DATABASE {db} SET statement_timeout = '1s'",),
        "grants",
        "changed",
        "database <this database>",
    ),
    "setting for all roles in all databases": Drift(
        ("ALTER ROLE ALL SET idle_session_timeout = '1h'",),
        "grants",
        "unexpected",
        "all roles in all databases",
        undo=("ALTER ROLE ALL RESET idle_session_timeout",),
    ),
    "a runtime role's setting in this database": Drift(
        ("ALTER ROLE gordon_api IN DATABASE {db} SET search_path = public, trading",),
        "grants",
        "changed",
        "role gordon_api",
    ),
    "the migrator's setting in this database": Drift(
        ("ALTER ROLE postgres IN DATABASE {db} SET session_replication_role = replica",),
        "grants",
        "unexpected",
        "role <migrator>",
    ),
    "connection limit of the database": Drift(
        ("ALTER DATABASE {db} CONNECTION LIMIT 3",),
        "grants",
        "changed",
        "database <this database>",
    ),
    "CREATE on the database to a runtime role": Drift(
        ("GRANT CREATE ON DATABASE {db} TO gordon_trading",),
        "grants",
        "changed",
        "grant on database <this database> to gordon_trading",
    ),
    "CONNECT revoked from a runtime role": Drift(
        ("REVOKE CONNECT ON DATABASE {db} FROM gordon_api",),
        "grants",
        "missing",
        "grant on database <this database> to gordon_api",
    ),
    "foreign key triggers disabled": Drift(
        ("ALTER TABLE market_data.candles DISABLE TRIGGER ALL",),
        "schema",
        "changed",
        "table market_data.candles",
    ),
    "every trigger of a table with its own triggers disabled": Drift(
        ("ALTER TABLE trading.fills DISABLE TRIGGER ALL",),
        "schema",
        "changed",
        "table trading.fills",
    ),
    "grant on the history table": Drift(
        ("GRANT UPDATE, DELETE ON public._sqlx_migrations TO gordon_trading",),
        "grants",
        "unexpected",
        "grant on table public._sqlx_migrations to gordon_trading",
    ),
    "column grant on the history table": Drift(
        ("GRANT UPDATE (checksum) ON public._sqlx_migrations TO gordon_api",),
        "column_grants",
        "unexpected",
        "grant on column public._sqlx_migrations.checksum to gordon_api",
    ),
    "RLS on the history table": Drift(
        ("ALTER TABLE public._sqlx_migrations ENABLE ROW LEVEL SECURITY",),
        "schema",
        "unexpected",
        "table public._sqlx_migrations",
    ),
    "trigger on the history table": Drift(
        (
            "CREATE TRIGGER rogue BEFORE UPDATE ON public._sqlx_migrations FOR EACH ROW "
            "EXECUTE FUNCTION trading.risk_state_guard()",
        ),
        "schema",
        "unexpected",
        "trigger public._sqlx_migrations.rogue",
    ),
    "grant on the audit table": Drift(
        (audit.CREATE_AUDIT, "GRANT DELETE ON public.gordon_migrate_audit TO gordon_api"),
        "grants",
        "unexpected",
        "grant on table public.gordon_migrate_audit to gordon_api",
    ),
    "policy on the audit table": Drift(
        (audit.CREATE_AUDIT, "CREATE POLICY rogue ON public.gordon_migrate_audit USING (false)"),
        "schema",
        "unexpected",
        "policy public.gordon_migrate_audit.rogue",
    ),
    "a pg_ schema": Drift(
        (
            "SET allow_system_table_mods = on",
            "CREATE SCHEMA pg_rogue",
            "CREATE FUNCTION pg_rogue.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "RESET allow_system_table_mods",
        ),
        "schema",
        "unexpected",
        "schema pg_rogue",
    ),
    "event trigger, its function in a pg_ schema": Drift(
        (
            "SET allow_system_table_mods = on",
            "CREATE SCHEMA pg_rogue_et",
            "CREATE FUNCTION pg_rogue_et.et() RETURNS event_trigger LANGUAGE plpgsql AS "
            "$$ BEGIN END $$",
            "RESET allow_system_table_mods",
            "CREATE EVENT TRIGGER rogue_pg_et ON ddl_command_start "
            "EXECUTE FUNCTION pg_rogue_et.et()",
        ),
        "schema",
        "unexpected",
        "event trigger rogue_pg_et",
    ),
    "event trigger": Drift(
        (
            "CREATE FUNCTION trading.rogue_et() RETURNS event_trigger LANGUAGE plpgsql AS "
            "$$ BEGIN END $$",
            "CREATE EVENT TRIGGER rogue_et ON sql_drop EXECUTE FUNCTION trading.rogue_et()",
        ),
        "schema",
        "unexpected",
        "event trigger rogue_et",
    ),
    "publication": Drift(
        ("CREATE PUBLICATION rogue_pub FOR TABLE trading.fills",),
        "schema",
        "unexpected",
        "publication rogue_pub",
    ),
    "operator": Drift(
        ("CREATE OPERATOR trading.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq)",),
        "schema",
        "unexpected",
        "operator trading.===(integer,integer)",
    ),
    "collation": Drift(
        ('CREATE COLLATION trading.rogue_c FROM "C"',),
        "schema",
        "unexpected",
        "collation trading.rogue_c",
    ),
    "text search configuration": Drift(
        ("CREATE TEXT SEARCH CONFIGURATION trading.rogue_ts (COPY = pg_catalog.simple)",),
        "schema",
        "unexpected",
        "text search configuration trading.rogue_ts",
    ),
    "text search dictionary": Drift(
        ("CREATE TEXT SEARCH DICTIONARY trading.rogue_dict (TEMPLATE = pg_catalog.simple)",),
        "schema",
        "unexpected",
        "text search dictionary trading.rogue_dict",
    ),
    "operator family": Drift(
        ("CREATE OPERATOR FAMILY trading.rogue_fam USING btree",),
        "schema",
        "unexpected",
        "operator family trading.rogue_fam USING btree",
    ),
    "conversion": Drift(
        (
            "CREATE CONVERSION trading.rogue_conv FOR 'LATIN1' TO 'UTF8' "
            "FROM pg_catalog.iso8859_1_to_utf8",
        ),
        "schema",
        "unexpected",
        "conversion trading.rogue_conv",
    ),
    "shell type": Drift(
        ("CREATE TYPE trading.rogue_shell",), "schema", "unexpected", "type trading.rogue_shell"
    ),
    "cast": Drift(
        (
            "CREATE TYPE trading.rogue_pair AS (a int, b int)",
            "CREATE FUNCTION trading.rogue_first(trading.rogue_pair) RETURNS int "
            "LANGUAGE sql IMMUTABLE AS 'SELECT $1.a'",
            "CREATE CAST (trading.rogue_pair AS int) WITH FUNCTION "
            "trading.rogue_first(trading.rogue_pair)",
        ),
        "schema",
        "unexpected",
        "cast (trading.rogue_pair AS integer)",
    ),
    "foreign data wrapper, server, user mapping": Drift(
        (
            "CREATE FOREIGN DATA WRAPPER rogue_fdw",
            "CREATE SERVER rogue_srv FOREIGN DATA WRAPPER rogue_fdw",
            "CREATE USER MAPPING FOR gordon_api SERVER rogue_srv OPTIONS (user 'x')",
        ),
        "schema",
        "unexpected",
        "user mapping gordon_api on server rogue_srv",
    ),
    "subscription": Drift(
        (
            "CREATE SUBSCRIPTION rogue_sub CONNECTION 'dbname=nowhere' PUBLICATION p "
            "WITH (connect = false)",
        ),
        "schema",
        "unexpected",
        "subscription rogue_sub",
        undo=(
            "ALTER SUBSCRIPTION rogue_sub SET (slot_name = NONE)",
            "DROP SUBSCRIPTION IF EXISTS rogue_sub",
        ),
        fixable=False,  # dropping it may need the publisher: the note says how
    ),
    # The classic kinds, fixed as well.
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
    "column grant": Drift(
        ("GRANT UPDATE (strategy) ON trading.runs TO gordon_trading",),
        "column_grants",
        "unexpected",
        "grant on column trading.runs.strategy to gordon_trading",
    ),
    "schema privilege": Drift(
        ("GRANT CREATE ON SCHEMA trading TO gordon_trading",),
        "grants",
        "changed",
        "grant on schema trading to gordon_trading",
    ),
    "function privilege": Drift(
        ("GRANT EXECUTE ON FUNCTION trading.risk_state_guard() TO PUBLIC",),
        "grants",
        "unexpected",
        "grant on function trading.risk_state_guard() to PUBLIC",
    ),
    "sequence privilege": Drift(
        ("GRANT USAGE ON SEQUENCE trading.runs_run_id_seq TO gordon_api",),
        "grants",
        "unexpected",
        "grant on sequence trading.runs_run_id_seq to gordon_api",
    ),
    "default privileges": Drift(
        ("ALTER DEFAULT PRIVILEGES IN SCHEMA trading GRANT SELECT ON TABLES TO gordon_api",),
        "grants",
        "unexpected",
        "default privileges of <migrator> in schema trading on tables to gordon_api",
    ),
    "role attribute": Drift(
        ("ALTER ROLE gordon_bots BYPASSRLS",),
        "grants",
        "changed",
        "role gordon_bots",
        undo=("ALTER ROLE gordon_bots NOBYPASSRLS",),
    ),
    "role setting": Drift(
        ("ALTER ROLE gordon_risk SET search_path = public",),
        "grants",
        "changed",
        "role gordon_risk",
        undo=("ALTER ROLE gordon_risk SET search_path = trading, market_data",),
    ),
    "membership": Drift(
        ("GRANT pg_write_all_data TO gordon_api",),
        "grants",
        "unexpected",
        "membership of gordon_api in pg_write_all_data",
        undo=("REVOKE pg_write_all_data FROM gordon_api",),
    ),
    "trigger disabled": Drift(
        ("ALTER TABLE trading.fills DISABLE TRIGGER fills_notify",),
        "schema",
        "changed",
        "trigger trading.fills.fills_notify",
    ),
    "trigger dropped": Drift(
        ("DROP TRIGGER fills_notify ON trading.fills",),
        "schema",
        "missing",
        "trigger trading.fills.fills_notify",
    ),
    "RLS disabled": Drift(
        ("ALTER TABLE trading.bot_configs DISABLE ROW LEVEL SECURITY",),
        "schema",
        "changed",
        "table trading.bot_configs",
    ),
    "RLS forced": Drift(
        ("ALTER TABLE trading.bot_configs FORCE ROW LEVEL SECURITY",),
        "schema",
        "changed",
        "table trading.bot_configs",
    ),
    "unexpected index": Drift(
        ("CREATE INDEX rogue_idx ON trading.runs (strategy)",),
        "schema",
        "unexpected",
        "index trading.rogue_idx",
    ),
    "policy changed": Drift(
        ("ALTER POLICY bot_leases_read_all ON trading.bot_leases TO gordon_bots",),
        "schema",
        "changed",
        "policy trading.bot_leases.bot_leases_read_all",
    ),
    "unexpected policy": Drift(
        ("CREATE POLICY rogue ON trading.bot_configs USING (true)",),
        "schema",
        "unexpected",
        "policy trading.bot_configs.rogue",
    ),
    "unexpected trigger": Drift(
        (
            "CREATE TRIGGER rogue AFTER INSERT ON trading.runs FOR EACH ROW "
            "EXECUTE FUNCTION trading.risk_state_guard()",
        ),
        "schema",
        "unexpected",
        "trigger trading.runs.rogue",
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
    "policy dropped": Drift(
        ("DROP POLICY bot_leases_read_all ON trading.bot_leases",),
        "schema",
        "missing",
        "policy trading.bot_leases.bot_leases_read_all",
    ),
    "owner changed": Drift(
        ("ALTER TABLE trading.runs OWNER TO gordon_api",),
        "schema",
        "changed",
        "table trading.runs",
    ),
}


def _statements(db: GordonDatabase, change: Drift) -> list[str]:
    name = sql.Identifier(db.name).as_string()
    return [s.replace("{db}", name) for s in change.sql]


_ROW_COUNTS = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('trading', 'market_data', 'bus', 'public')
ORDER BY 1
"""


def row_counts(db: GordonDatabase) -> dict[str, int]:
    with db.connect() as conn:
        tables = [str(r[0]) for r in conn.execute(_ROW_COUNTS).fetchall()]
        out = {}
        for table in tables:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            out[table] = int(row[0]) if row else -1
    return out


def apply_script(db: GordonDatabase, script: str) -> None:
    """Statement by statement, as ``psql -f`` runs it (the part after COMMIT cannot run in
    one multi-statement string)."""
    with db.connect() as conn:
        for statement in split(script):
            conn.execute(statement.text.encode())


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_provoked_drift_is_named_and_fixed(
    cli: CliRunner, gordon_db: GordonDatabase, case: str
) -> None:
    change = CASES[case]
    reader = gordon_db.dsn_as("gordon_drift_reader")
    try:
        execute(gordon_db, *_statements(gordon_db, change))
        with gordon_db.connect() as conn:  # a row in every table the fix could touch
            conn.execute(
                "INSERT INTO public._sqlx_migrations (version, description, success, checksum, "
                "execution_time) VALUES (9999, 'row', true, '\\x00', 1)"
            )
        code, payload, _ = drift(cli, reader)
        assert code == 1, case
        difference = find(payload, change.check, change.object)
        assert difference["kind"] == change.kind
        text = cli("drift-check", "--database-url", reader)
        assert text.code == 1
        assert f"  {change.kind:<10}  {change.object}" in text.out

        script = cli("drift-check", "--database-url", reader, "--fix-sql")
        assert script.code == 1
        assert script.out.startswith("-- gordon-migrate drift-check --fix-sql")
        if not change.fixable:
            assert difference["fix"] is not None or difference["fix_note"] is not None
            return
        assert difference["fix"], difference
        before = row_counts(gordon_db)
        apply_script(gordon_db, script.out)
        after_code, after, _ = drift(cli, reader)
        assert after_code == 0, failing(after)
        assert row_counts(gordon_db) == before
    finally:
        execute(gordon_db, *change.undo)


def test_destructive_differences_are_comments_with_what_to_do(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    execute(
        gordon_db,
        "CREATE TABLE trading.rogue (id int)",
        "ALTER TABLE trading.runs ADD COLUMN rogue text",
        "GRANT DELETE ON trading.runs TO gordon_api",
    )
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 1
    table = find(payload, "schema", "table trading.rogue")
    column = find(payload, "schema", "column trading.runs.rogue")
    assert table["fix"] is None and column["fix"] is None
    assert "would destroy data" in table["fix_note"]
    # The new table's column goes with it; a new column of a pinned table is its own.
    assert table["members"] == ["column trading.rogue.id"] and column["members"] == []
    script = cli("drift-check", "--database-url", gordon_db.dsn, "--fix-sql").out
    assert "-- unexpected: table trading.rogue: would destroy data" in script
    assert "DROP TABLE" not in script and "DROP COLUMN" not in script
    assert 'REVOKE DELETE ON TABLE trading.runs FROM "gordon_api";' in script
    apply_script(gordon_db, script)
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert set(d["object"] for d in failing(payload)["schema"]) == {
        "column trading.runs.rogue",
        "table trading.rogue",
    }
    assert [d["object"] for d in failing(payload)["grants"]] == [
        "grant on table trading.rogue to <migrator>"
    ]


def test_all_provoked_drifts_at_once(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    """Recall over every fixable case together (one database), and one script fixes all."""
    chosen = {n: c for n, c in CASES.items() if c.fixable and not c.undo}
    with gordon_db.connect() as conn:
        for change in chosen.values():
            for statement in _statements(gordon_db, change):
                conn.execute(statement.encode())
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    found = {(c, d["object"]) for c, ds in failing(payload).items() for d in ds}
    missed = [n for n, c in chosen.items() if (c.check, c.object) not in found]
    assert missed == []
    script = cli("drift-check", "--database-url", gordon_db.dsn, "--fix-sql").out
    apply_script(gordon_db, script)
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 0, failing(payload)


# --- what is deliberately not drift (README: "What drift-check does not report") -----------


NOT_DRIFT: dict[str, tuple[str, ...]] = {
    "CLUSTER": ("CLUSTER trading.fills USING fills_pkey",),
    "comments": (
        "COMMENT ON TABLE trading.fills IS 'rogue comment'",
        "COMMENT ON COLUMN trading.fills.fill_id IS 'x'",
        "COMMENT ON SCHEMA trading IS 'x'",
    ),
    "statistics targets": ("ALTER TABLE trading.fills ALTER COLUMN fill_id SET STATISTICS 500",),
    "planner statistics and vacuum": ("ANALYZE", "VACUUM trading.fills"),
    "sequence values": ("SELECT setval('trading.runs_run_id_seq', 4242)",),
    "large objects": ("SELECT lo_create(0)",),
    "history rows": (
        "INSERT INTO public._sqlx_migrations (version, description, success, checksum, "
        "execution_time) VALUES (9999, 'row', true, '\\x00', 1)",
    ),
    "the audit table created by a recovery command": (audit.CREATE_AUDIT,),
}


@pytest.mark.parametrize("case", list(NOT_DRIFT), ids=list(NOT_DRIFT))
def test_not_drift_stays_clean(cli: CliRunner, gordon_db: GordonDatabase, case: str) -> None:
    execute(gordon_db, *NOT_DRIFT[case])
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 0, failing(payload)


def test_a_temporary_table_of_an_open_session_is_not_drift(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Any
) -> None:
    session = session_holder(gordon_db.dsn)
    session.execute("CREATE TEMP TABLE scratch (id int)")
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 0, failing(payload)


# --- completeness by construction ------------------------------------------------------------


def test_every_catalog_of_the_server_is_covered_or_ignored_with_a_reason(
    gordon_db: GordonDatabase,
) -> None:
    """A catalog a new PostgreSQL major adds fails here until drift/catalogs.py says what it
    means for drift."""
    with gordon_db.connect() as conn:
        tables = {
            str(r[0])
            for r in conn.execute(
                "SELECT relname FROM pg_class "
                "WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'"
            ).fetchall()
        }
        # Every class a dependency can name (the catalogs that describe objects).
        classes = {
            str(r[0])
            for r in conn.execute(
                "SELECT DISTINCT classid::regclass::text FROM pg_depend WHERE classid <> 0 "
                "UNION SELECT DISTINCT refclassid::regclass::text FROM pg_depend "
                "UNION SELECT DISTINCT classid::regclass::text FROM pg_shdepend "
                "WHERE classid <> 0"
            ).fetchall()
        }
    assert sorted(tables - CATALOGS.keys()) == [], "catalogs drift-check knows nothing about"
    assert sorted(CATALOGS.keys() - tables) == [], "catalogs this server does not have"
    assert sorted(classes - CATALOGS.keys()) == []
    for name, entry in CATALOGS.items():
        assert entry.how in ("snapshot", "identity") or len(entry.reason) > 20, name


def test_the_generic_query_names_every_identity_catalog(gordon_db: GordonDatabase) -> None:
    from gordon_migrate.drift import queries

    for name, entry in CATALOGS.items():
        if entry.how == "identity":
            assert f"pg_identify_object('{name}'::regclass" in queries.GENERIC, name


# --- read-only under locks -----------------------------------------------------------------------


def _pid(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("locked", ["trading.fills", "market_data.latest_candles"])
def test_drift_check_and_grants_succeed_while_a_relation_is_locked(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Any, locked: str
) -> None:
    holder = session_holder(gordon_db.dsn)
    holder.execute("BEGIN")
    holder.execute(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE")
    reader = gordon_db.dsn_as("gordon_drift_reader")
    code, payload, _ = drift(cli, reader)
    assert code == 0, failing(payload)
    checksum = payload["schema_checksum"]
    assert checksum["expected"] == checksum["actual"], "what was not read counts as pinned"
    unread = [w for w in payload["warnings"] if w.startswith("not compared: ")]
    assert any(
        w.startswith(f"not compared: {locked}: pid {_pid(holder)} (postgres") for w in unread
    )
    grid = cli("grants", "--database-url", reader, "--format", "json")
    assert grid.code == 0, grid.out
    assert json.loads(grid.out)["ok"] is True
    # Drift elsewhere is still found meanwhile.
    execute(gordon_db, "GRANT DELETE ON trading.runs TO gordon_api")
    code, payload, _ = drift(cli, reader)
    assert code == 1
    assert find(payload, "grants", "grant on table trading.runs to gordon_api")
    holder.execute("ROLLBACK")


def test_drift_check_takes_no_lock_on_a_gordon_relation(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Any
) -> None:
    """The catalog reads open no Gordon relation while others lock it: nothing waits."""
    holder = session_holder(gordon_db.dsn)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE trading.fills, trading.runs IN ACCESS EXCLUSIVE MODE")
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 0, failing(payload)
    with gordon_db.connect() as conn:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> %s", (_pid(holder),)
        ).fetchone()
    assert waiting == (0,)
    holder.execute("ROLLBACK")


def test_a_lock_that_cannot_be_avoided_fails_naming_the_relation_and_the_holder(
    cli: CliRunner, gordon_db: GordonDatabase, session_holder: Any
) -> None:
    """A catalog itself locked (only a superuser can): every read of it waits, so drift-check
    gives up after lock_timeout (twice: the snapshot is retried once) and says who holds it."""
    holder = session_holder(gordon_db.dsn)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE pg_catalog.pg_statistic_ext IN ACCESS EXCLUSIVE MODE")
    result = cli("drift-check", "--database-url", gordon_db.dsn_as("gordon_drift_reader"))
    holder.execute("ROLLBACK")
    assert result.code == 1
    assert result.error_line.startswith("the catalogs could not be read: ")
    assert f"pg_statistic_ext locked by pid {_pid(holder)} (postgres)" in (result.error_line)
    wait_reader_sessions_gone(gordon_db.dsn)  # drift-check's session is gone


# --- the fixer's parsing of names (no database) ---------------------------------------------


def test_split_last_keeps_quoted_identifiers_whole() -> None:
    from gordon_migrate.drift.model import split_last

    assert split_last("trading.fills.fee") == ("trading.fills", "fee")
    assert split_last('trading."odd.table"') == ("trading", '"odd.table"')
    assert split_last('trading.fills."say ""hi"""') == ("trading.fills", '"say ""hi"""')
    assert split_last('"odd.schema".t') == ('"odd.schema"', "t")


def test_settings_are_written_back_as_literals() -> None:
    from gordon_migrate.drift.fix import Context, fix_for
    from gordon_migrate.drift.model import Line

    ctx = Context(database="gordon", migrator="deploy", server_version=180000)
    want = [Line("role gordon_api", "setting search_path", 'trading, "$user"')]
    have = [
        Line("role gordon_api", "setting search_path", "public"),
        Line("role gordon_api", "setting in this database work_mem", "64MB"),
    ]
    found = fix_for("role gordon_api", want, have, ctx)
    assert found.sql == (
        """ALTER ROLE "gordon_api" SET search_path = 'trading', '$user';\n"""
        """ALTER ROLE "gordon_api" IN DATABASE "gordon" RESET work_mem;"""
    )


def test_the_database_owner_is_not_drift(cli: CliRunner, gordon_db: GordonDatabase) -> None:
    """Who owns the database is chosen when it is created, per environment."""
    owner = f"owner_{gordon_db.name}"
    execute(gordon_db, f"CREATE ROLE {owner}", f"ALTER DATABASE {gordon_db.name} OWNER TO {owner}")
    try:
        code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    finally:
        execute(
            gordon_db, f"ALTER DATABASE {gordon_db.name} OWNER TO postgres", f"DROP ROLE {owner}"
        )
    assert code == 0, failing(payload)


def test_sorted_lines_sorts_and_drops_repeated_lines() -> None:
    from gordon_migrate.drift.model import Line, sorted_lines

    b, a, a_value = Line("b", "x"), Line("a", "x"), Line("a", "x", "1")
    assert sorted_lines([b, a_value, a]) == (a, a_value, b)
    assert sorted_lines([b, a, b, a]) == (a, b)
    assert sorted_lines([]) == ()


def test_fixture_lines_round_trip_escaped_or_not() -> None:
    from gordon_migrate.drift import fixtures
    from gordon_migrate.drift.model import Line

    lines = [
        Line("function s.f()", "body", "BEGIN\n\tRETURN 'a\\b';\r\nEND"),
        Line("role r", "exists"),
        Line("table s.t", "owner", "<migrator>"),
    ]
    text = fixtures.render("schema", lines)
    assert "BEGIN\\n\\tRETURN 'a\\\\b';\\r\\nEND" in text
    assert "role r\texists\n" in text
    assert fixtures.parse(text) == tuple(sorted(lines))
