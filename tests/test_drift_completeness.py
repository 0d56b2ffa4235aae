"""drift-check covers every catalog, and --fix-sql puts each provoked drift back.

Each case is a real out-of-band change: drift-check (as gordon_drift_reader) must exit 1 and
name the object; the script of ``--fix-sql``, applied as the migration role, must make
drift-check clean again without losing a row. What is deliberately not drift is provoked
too, and must stay clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gordon_migrate.core import audit
from gordon_migrate.drift.catalogs import CATALOGS, COLUMNS
from gordon_migrate.sql.split import split
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.drift import drift, execute, failing, find, wait_reader_sessions_gone
from tests.support.drift_provoked import PROVOKED, UNPROVOKED


@dataclass(frozen=True)
class Drift:
    """An out-of-band change (``{db}``: the database's name) and the difference it makes."""

    sql: tuple[str, ...]
    check: str
    kind: str
    object: str
    undo: tuple[str, ...] = ()  # cluster-wide changes are undone after the test
    fixable: bool = True
    since: int = 0  # the PostgreSQL version that can make the change (server_version_num)


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
        fixable=False,  # reaches every database of the cluster: the note gives the command
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


_MODS = ("SET allow_system_table_mods = on",)

# PostgreSQL's own objects (the built-ins check): compared with what initdb gave, never
# restored by the script (not Gordon's), each a comment with the exact command.
CASES |= {
    f"built-ins: {name}": Drift(statements, "builtins", kind, f"built-in: {obj}", fixable=False)
    for name, statements, kind, obj in (
        (
            "EXECUTE on pg_notify revoked from PUBLIC (every NOTIFY trigger fails)",
            ("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_notify(text, text) FROM PUBLIC",),
            "missing",
            "grant on function pg_catalog.pg_notify(text, text) to PUBLIC",
        ),
        (
            "SELECT on a catalog granted",
            ("GRANT SELECT ON pg_catalog.pg_statistic TO gordon_api",),
            "unexpected",
            "grant on table pg_catalog.pg_statistic to gordon_api",
        ),
        (
            "EXECUTE on pg_read_file granted",
            ("GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO gordon_api",),
            "unexpected",
            "grant on function pg_catalog.pg_read_file(text) to gordon_api",
        ),
        (
            "an information_schema view revoked from PUBLIC",
            ("REVOKE SELECT ON information_schema.tables FROM PUBLIC",),
            "missing",
            "grant on view information_schema.tables to PUBLIC",
        ),
        (
            "USAGE on language sql revoked from PUBLIC",
            ("REVOKE USAGE ON LANGUAGE sql FROM PUBLIC",),
            "missing",
            "grant on language sql to PUBLIC",
        ),
        (
            "USAGE on language plpgsql revoked from PUBLIC",
            ("REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC",),
            "missing",
            "grant on language plpgsql to PUBLIC",
        ),
        (
            "CREATE on schema pg_catalog granted",
            ("GRANT CREATE ON SCHEMA pg_catalog TO gordon_api",),
            "unexpected",
            "grant on schema pg_catalog to gordon_api",
        ),
        (
            "USAGE on a built-in type revoked from PUBLIC",
            ("REVOKE USAGE ON TYPE pg_catalog.int4 FROM PUBLIC",),
            "missing",
            "grant on type pg_catalog.int4 to PUBLIC",
        ),
        (
            "a column of a catalog granted",
            ("GRANT SELECT (rolpassword) ON pg_catalog.pg_authid TO gordon_api",),
            "unexpected",
            "grant on column pg_catalog.pg_authid.rolpassword to gordon_api",
        ),
        (
            "a function made in pg_catalog",
            (
                *_MODS,
                "CREATE FUNCTION pg_catalog.rogue_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            ),
            "unexpected",
            "function pg_catalog.rogue_fn()",
        ),
        (
            "a table made in information_schema",
            ("CREATE TABLE information_schema.rogue_t (id int)",),
            "unexpected",
            "table information_schema.rogue_t",
        ),
        (
            "a table made in pg_toast",
            (*_MODS, "CREATE TABLE pg_toast.rogue_t (id int)"),
            "unexpected",
            "table pg_toast.rogue_t",
        ),
        (
            "a built-in function replaced by one of the same signature",
            (
                *_MODS,
                "CREATE OR REPLACE FUNCTION pg_catalog.timeofday() RETURNS text LANGUAGE sql "
                "AS $$SELECT 'frozen'::text$$",
            ),
            "changed",
            "function pg_catalog.timeofday()",
        ),
        (
            "a built-in function made SECURITY DEFINER",
            ("ALTER FUNCTION pg_catalog.pg_backend_pid() SECURITY DEFINER",),
            "changed",
            "function pg_catalog.pg_backend_pid()",
        ),
        (
            "a built-in function given a setting",
            ("ALTER FUNCTION pg_catalog.version() SET search_path = public",),
            "changed",
            "function pg_catalog.version()",
        ),
        (
            "a built-in function given another owner",
            ("ALTER FUNCTION pg_catalog.clock_timestamp() OWNER TO gordon_api",),
            "changed",
            "function pg_catalog.clock_timestamp()",
        ),
    )
}

# Extension members: an object added to an extension is hidden from the rest of the report.
CASES |= {
    "a function added to plpgsql": Drift(
        (
            "CREATE FUNCTION trading.rogue_ext() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "ALTER EXTENSION plpgsql ADD FUNCTION trading.rogue_ext()",
        ),
        "schema",
        "unexpected",
        "member of extension plpgsql: function trading.rogue_ext()",
        fixable=False,
    ),
    "a Gordon function hidden in plpgsql": Drift(
        ("ALTER EXTENSION plpgsql ADD FUNCTION trading.risk_state_notify()",),
        "schema",
        "unexpected",
        "member of extension plpgsql: function trading.risk_state_notify()",
        fixable=False,
    ),
    "a table added to plpgsql": Drift(
        (
            "CREATE TABLE trading.rogue_hidden (id int)",
            "ALTER EXTENSION plpgsql ADD TABLE trading.rogue_hidden",
        ),
        "schema",
        "unexpected",
        "member of extension plpgsql: table trading.rogue_hidden",
        fixable=False,
    ),
    "a member removed from plpgsql": Drift(
        ("ALTER EXTENSION plpgsql DROP FUNCTION pg_catalog.plpgsql_validator(oid)",),
        "schema",
        "missing",
        "member of extension plpgsql: function pg_catalog.plpgsql_validator(pg_catalog.oid)",
        fixable=False,
    ),
}

# The cluster, as it reaches Gordon: predefined roles that read, write or run beyond grants,
# memberships in Gordon roles, every attribute of the Gordon roles.
CASES |= {
    "another application's role in pg_read_all_data": Drift(
        ("CREATE ROLE drift_other_app", "GRANT pg_read_all_data TO drift_other_app"),
        "grants",
        "unexpected",
        "membership of drift_other_app in pg_read_all_data",
        undo=("DROP ROLE IF EXISTS drift_other_app",),
        fixable=False,  # not Gordon's role: the note says who revokes it
    ),
    "another application's role in pg_write_server_files": Drift(
        ("CREATE ROLE drift_other_w", "GRANT pg_write_server_files TO drift_other_w"),
        "grants",
        "unexpected",
        "membership of drift_other_w in pg_write_server_files",
        undo=("DROP ROLE IF EXISTS drift_other_w",),
        fixable=False,
    ),
    "a Gordon role in pg_signal_backend": Drift(
        ("GRANT pg_signal_backend TO gordon_risk",),
        "grants",
        "unexpected",
        "membership of gordon_risk in pg_signal_backend",
        undo=("REVOKE pg_signal_backend FROM gordon_risk",),
    ),
    "a Gordon role in pg_read_server_files": Drift(
        ("GRANT pg_read_server_files TO gordon_ingest",),
        "grants",
        "unexpected",
        "membership of gordon_ingest in pg_read_server_files",
        undo=("REVOKE pg_read_server_files FROM gordon_ingest",),
    ),
    "a Gordon role in pg_execute_server_program": Drift(
        ("GRANT pg_execute_server_program TO gordon_bots",),
        "grants",
        "unexpected",
        "membership of gordon_bots in pg_execute_server_program",
        undo=("REVOKE pg_execute_server_program FROM gordon_bots",),
    ),
    "a Gordon role in pg_create_subscription": Drift(
        ("GRANT pg_create_subscription TO gordon_api",),
        "grants",
        "unexpected",
        "membership of gordon_api in pg_create_subscription",
        undo=("REVOKE pg_create_subscription FROM gordon_api",),
        since=160000,
    ),
    "a Gordon role in pg_maintain": Drift(
        ("GRANT pg_maintain TO gordon_outbox_relay",),
        "grants",
        "unexpected",
        "membership of gordon_outbox_relay in pg_maintain",
        undo=("REVOKE pg_maintain FROM gordon_outbox_relay",),
        since=170000,
    ),
    "another role made a member of a Gordon role": Drift(
        ("CREATE ROLE drift_intruder", "GRANT gordon_trading TO drift_intruder"),
        "grants",
        "unexpected",
        "membership of drift_intruder in gordon_trading",
        undo=("DROP ROLE IF EXISTS drift_intruder",),
    ),
    "a Gordon role made a member of another": Drift(
        ("GRANT gordon_api TO gordon_bots",),
        "grants",
        "unexpected",
        "membership of gordon_bots in gordon_api",
        undo=("REVOKE gordon_api FROM gordon_bots",),
    ),
    **{
        f"role attribute: {change}": Drift(
            (f"ALTER ROLE {role} {change}",),
            "grants",
            "changed",
            f"role {role}",
            undo=(f"ALTER ROLE {role} {undo}",),
        )
        for role, change, undo in (
            ("gordon_outbox_relay", "VALID UNTIL '2000-01-01'", "VALID UNTIL 'infinity'"),
            ("gordon_ingest", "CONNECTION LIMIT 0", "CONNECTION LIMIT -1"),
            ("gordon_api", "NOLOGIN", "LOGIN"),
            ("gordon_trading", "CREATEDB", "NOCREATEDB"),
            ("gordon_risk", "CREATEROLE", "NOCREATEROLE"),
            ("gordon_bots", "REPLICATION", "NOREPLICATION"),
            ("gordon_drift_reader", "NOINHERIT", "INHERIT"),
            ("gordon_outbox_relay", "SUPERUSER", "NOSUPERUSER"),
            ("gordon_ingest", "SET work_mem = '1GB'", "RESET work_mem"),
        )
    },
    "a parameter privilege to a Gordon role": Drift(
        ("GRANT SET ON PARAMETER work_mem TO gordon_api",),
        "grants",
        "unexpected",
        "grant on parameter ACL work_mem to gordon_api",
        undo=("REVOKE SET ON PARAMETER work_mem FROM gordon_api",),
    ),
}

# Every row of the column map that SQL can change.
CASES |= {
    "index made invalid": Drift(
        (
            "UPDATE pg_index SET indisvalid = false "
            "WHERE indexrelid = 'trading.bot_leases_expires_at_idx'::regclass",
        ),
        "schema",
        "changed",
        "index trading.bot_leases_expires_at_idx",
    ),
    "index left not ready": Drift(
        (
            "UPDATE pg_index SET indisready = false "
            "WHERE indexrelid = 'trading.risk_audit_occurred_at_idx'::regclass",
        ),
        "schema",
        "changed",
        "index trading.risk_audit_occurred_at_idx",
    ),
    "primary key index made invalid": Drift(
        (
            "UPDATE pg_index SET indisvalid = false "
            "WHERE indexrelid = 'trading.equity_pkey'::regclass",
        ),
        "schema",
        "changed",
        "index trading.equity_pkey",
    ),
    "index rebuilt by hand with another definition": Drift(
        (
            "DROP INDEX trading.runs_bot_id_idx",
            "CREATE INDEX runs_bot_id_idx ON trading.runs (bot_id DESC)",
        ),
        "schema",
        "changed",
        "index trading.runs_bot_id_idx",
    ),
    "sequence increment": Drift(
        ("ALTER SEQUENCE trading.fills_fill_id_seq INCREMENT BY 7",),
        "schema",
        "changed",
        "sequence trading.fills_fill_id_seq",
    ),
    "sequence bounds and cycle": Drift(
        ("ALTER SEQUENCE trading.trades_trade_id_seq MAXVALUE 1000 CYCLE",),
        "schema",
        "changed",
        "sequence trading.trades_trade_id_seq",
    ),
    "sequence cache": Drift(
        ("ALTER SEQUENCE trading.bot_events_event_id_seq CACHE 50",),
        "schema",
        "changed",
        "sequence trading.bot_events_event_id_seq",
    ),
    "sequence start": Drift(
        ("ALTER SEQUENCE trading.risk_events_event_id_seq START WITH 1000",),
        "schema",
        "changed",
        "sequence trading.risk_events_event_id_seq",
    ),
    "column default dropped": Drift(
        ("ALTER TABLE bus.outbox ALTER COLUMN attempts DROP DEFAULT",),
        "schema",
        "changed",
        "column bus.outbox.attempts",
    ),
    "column default changed": Drift(
        ("ALTER TABLE trading.bot_commands ALTER COLUMN status SET DEFAULT 'done'",),
        "schema",
        "changed",
        "column trading.bot_commands.status",
    ),
    "NOT NULL dropped": Drift(
        ("ALTER TABLE market_data.instruments ALTER COLUMN is_active DROP NOT NULL",),
        "schema",
        "changed",
        "column market_data.instruments.is_active",
    ),
    "NOT NULL added": Drift(
        ("ALTER TABLE bus.outbox ALTER COLUMN last_error SET NOT NULL",),
        "schema",
        "changed",
        "column bus.outbox.last_error",
    ),
    "NOT NULL made NOT VALID (a NULL row can exist)": Drift(
        (
            "ALTER TABLE market_data.instruments ALTER COLUMN contract_size DROP NOT NULL",
            "ALTER TABLE market_data.instruments ADD CONSTRAINT rogue_nn "
            "NOT NULL contract_size NOT VALID",
        ),
        "schema",
        "changed",
        "column market_data.instruments.contract_size",
        since=180000,
    ),
    "table storage options": Drift(
        ("ALTER TABLE trading.order_events SET (fillfactor = 50)",),
        "schema",
        "changed",
        "table trading.order_events",
    ),
    "autovacuum switched off for a table": Drift(
        ("ALTER TABLE trading.order_intents SET (autovacuum_enabled = false)",),
        "schema",
        "changed",
        "table trading.order_intents",
    ),
    "replica identity": Drift(
        ("ALTER TABLE trading.trades REPLICA IDENTITY FULL",),
        "schema",
        "changed",
        "table trading.trades",
    ),
    "RLS enabled on a table without policies": Drift(
        ("ALTER TABLE trading.equity ENABLE ROW LEVEL SECURITY",),
        "schema",
        "changed",
        "table trading.equity",
    ),
    "function made SECURITY DEFINER": Drift(
        ("ALTER FUNCTION trading.risk_state_guard() SECURITY DEFINER",),
        "schema",
        "changed",
        "function trading.risk_state_guard()",
    ),
    "function setting changed": Drift(
        ("ALTER FUNCTION trading.ipc_notify_trigger() SET search_path = public",),
        "schema",
        "changed",
        "function trading.ipc_notify_trigger()",
    ),
    "function made LEAKPROOF and costlier": Drift(
        ("ALTER FUNCTION trading.risk_state_notify() LEAKPROOF COST 1000",),
        "schema",
        "changed",
        "function trading.risk_state_notify()",
    ),
    "function body replaced": Drift(
        (
            "CREATE OR REPLACE FUNCTION trading.risk_state_notify() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        ),
        "schema",
        "changed",
        "function trading.risk_state_notify()",
        fixable=False,  # the body is the migration's
    ),
    "view redefined": Drift(
        (
            "DO $$ BEGIN EXECUTE format('CREATE OR REPLACE VIEW market_data.candle_history AS "
            "SELECT * FROM (%s) v WHERE false', rtrim(pg_get_viewdef("
            "'market_data.candle_history'::regclass), ';')); END $$",
        ),
        "schema",
        "changed",
        "view market_data.candle_history",
    ),
    "view owner": Drift(
        ("ALTER VIEW market_data.latest_book_tops OWNER TO gordon_api",),
        "schema",
        "changed",
        "view market_data.latest_book_tops",
    ),
    "schema owner": Drift(
        ("ALTER SCHEMA bus OWNER TO gordon_api",),
        "schema",
        "changed",
        "schema bus",
    ),
    "trigger given a WHEN that never fires": Drift(
        (
            "DROP TRIGGER bot_events_notify ON trading.bot_events",
            "CREATE TRIGGER bot_events_notify AFTER INSERT ON trading.bot_events FOR EACH ROW "
            "WHEN (false) EXECUTE FUNCTION "
            "trading.ipc_notify_trigger('gordon_bot_events', 'event_id', 'bot_id')",
        ),
        "schema",
        "changed",
        "trigger trading.bot_events.bot_events_notify",
    ),
    "trigger enabled ALWAYS": Drift(
        ("ALTER TABLE trading.order_events ENABLE ALWAYS TRIGGER order_events_notify",),
        "schema",
        "changed",
        "trigger trading.order_events.order_events_notify",
    ),
    "trigger enabled for replicas only": Drift(
        ("ALTER TABLE trading.risk_events ENABLE REPLICA TRIGGER risk_events_notify",),
        "schema",
        "changed",
        "trigger trading.risk_events.risk_events_notify",
    ),
    "policy made restrictive": Drift(
        (
            "DROP POLICY bot_configs_read_all ON trading.bot_configs",
            "CREATE POLICY bot_configs_read_all ON trading.bot_configs AS RESTRICTIVE "
            "FOR SELECT USING (true)",
        ),
        "schema",
        "changed",
        "policy trading.bot_configs.bot_configs_read_all",
    ),
    "policy USING changed": Drift(
        ("ALTER POLICY bot_events_read_all ON trading.bot_events USING (false)",),
        "schema",
        "changed",
        "policy trading.bot_events.bot_events_read_all",
    ),
    "unexpected check constraint": Drift(
        ("ALTER TABLE trading.runs ADD CONSTRAINT rogue_check CHECK (true)",),
        "schema",
        "unexpected",
        "constraint trading.runs.rogue_check",
    ),
    "foreign key dropped": Drift(
        ("ALTER TABLE market_data.open_interest DROP CONSTRAINT open_interest_instrument_id_fkey",),
        "schema",
        "missing",
        "constraint market_data.open_interest.open_interest_instrument_id_fkey",
    ),
    "check constraint re-added NOT VALID": Drift(
        (
            "ALTER TABLE bus.outbox DROP CONSTRAINT outbox_attempts_check",
            "ALTER TABLE bus.outbox ADD CONSTRAINT outbox_attempts_check "
            "CHECK (attempts >= 0) NOT VALID",
        ),
        "schema",
        "changed",
        "constraint bus.outbox.outbox_attempts_check",
    ),
    "column type changed": Drift(
        ("ALTER TABLE trading.runs ALTER COLUMN strategy TYPE varchar(200)",),
        "schema",
        "changed",
        "column trading.runs.strategy",
        fixable=False,  # the type is the migration's (rows may not fit back)
    ),
    "identity dropped": Drift(
        ("ALTER TABLE bus.outbox ALTER COLUMN outbox_id DROP IDENTITY",),
        "schema",
        "changed",
        "column bus.outbox.outbox_id",
        fixable=False,
    ),
    "unexpected column": Drift(
        ("ALTER TABLE trading.equity ADD COLUMN rogue int",),
        "schema",
        "unexpected",
        "column trading.equity.rogue",
        fixable=False,
    ),
    "unexpected table": Drift(
        ("CREATE TABLE trading.rogue_t (id int)",),
        "schema",
        "unexpected",
        "table trading.rogue_t",
        fixable=False,
    ),
    "unexpected sequence": Drift(
        ("CREATE SEQUENCE trading.rogue_seq",),
        "schema",
        "unexpected",
        "sequence trading.rogue_seq",
        fixable=False,
    ),
    "unexpected statistics object": Drift(
        ("CREATE STATISTICS trading.rogue_stats ON bot_id, mode FROM trading.runs",),
        "schema",
        "unexpected",
        "statistics trading.rogue_stats",
    ),
    "unexpected rule": Drift(
        ("CREATE RULE rogue_rule AS ON DELETE TO trading.runs DO INSTEAD NOTHING",),
        "schema",
        "unexpected",
        "rule trading.runs.rogue_rule",
    ),
    "unexpected function": Drift(
        ("CREATE FUNCTION trading.rogue_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",),
        "schema",
        "unexpected",
        "function trading.rogue_fn()",
    ),
    "unexpected procedure": Drift(
        ("CREATE PROCEDURE trading.rogue_proc() LANGUAGE sql AS 'SELECT 1'",),
        "schema",
        "unexpected",
        "procedure trading.rogue_proc()",
    ),
    "unexpected aggregate": Drift(
        ("CREATE AGGREGATE trading.rogue_agg(int) (SFUNC = int4pl, STYPE = int)",),
        "schema",
        "unexpected",
        "aggregate trading.rogue_agg(integer)",
    ),
    "unexpected view": Drift(
        ("CREATE VIEW trading.rogue_v AS SELECT 1 AS x",),
        "schema",
        "unexpected",
        "view trading.rogue_v",
    ),
    "unexpected materialized view": Drift(
        ("CREATE MATERIALIZED VIEW trading.rogue_mv AS SELECT 1 AS x",),
        "schema",
        "unexpected",
        "materialized view trading.rogue_mv",
    ),
    "unexpected enum type": Drift(
        ("CREATE TYPE trading.rogue_enum AS ENUM ('a')",),
        "schema",
        "unexpected",
        "type trading.rogue_enum",
    ),
    "unexpected domain": Drift(
        ("CREATE DOMAIN trading.rogue_dom AS int",),
        "schema",
        "unexpected",
        "domain trading.rogue_dom",
    ),
    "unexpected schema": Drift(
        ("CREATE SCHEMA rogue_s",), "schema", "unexpected", "schema rogue_s"
    ),
    "a schema named like pg_toast": Drift(
        (*_MODS, "CREATE SCHEMA pg_toastx"), "schema", "unexpected", "schema pg_toastx"
    ),
    "a schema named like a session's temporary one": Drift(
        (*_MODS, "CREATE SCHEMA pg_temp_rogue"),
        "schema",
        "unexpected",
        "schema pg_temp_rogue",
    ),
    "publication of all tables": Drift(
        ("CREATE PUBLICATION rogue_all FOR ALL TABLES",),
        "schema",
        "unexpected",
        "publication rogue_all",
    ),
    "unexpected language": Drift(
        ("CREATE LANGUAGE rogue_lang HANDLER plpgsql_call_handler",),
        "schema",
        "unexpected",
        "language rogue_lang",
    ),
    "unexpected access method": Drift(
        ("CREATE ACCESS METHOD rogue_am TYPE TABLE HANDLER heap_tableam_handler",),
        "schema",
        "unexpected",
        "access method rogue_am",
    ),
    "unexpected text search template": Drift(
        ("CREATE TEXT SEARCH TEMPLATE trading.rogue_tmpl (LEXIZE = dsimple_lexize)",),
        "schema",
        "unexpected",
        "text search template trading.rogue_tmpl",
    ),
    "table made UNLOGGED": Drift(
        ("ALTER TABLE trading.venue_balances SET UNLOGGED",),
        "schema",
        "changed",
        "table trading.venue_balances",
    ),
    "replica identity using an index": Drift(
        ("ALTER TABLE trading.roundtrips REPLICA IDENTITY USING INDEX roundtrips_pkey",),
        "schema",
        "changed",
        "table trading.roundtrips",
    ),
    "column collation changed": Drift(
        ('ALTER TABLE trading.runs ALTER COLUMN quote_asset TYPE text COLLATE "C"',),
        "schema",
        "changed",
        "column trading.runs.quote_asset",
        fixable=False,  # a rewrite the migration decides (its type and collation)
    ),
    "table made to inherit": Drift(
        (
            "CREATE TABLE trading.rogue_parent ()",
            "ALTER TABLE trading.equity INHERIT trading.rogue_parent",
        ),
        "schema",
        "changed",
        "table trading.equity",
        fixable=False,  # the unexpected parent is a table: a person decides
    ),
    "the database made a template": Drift(
        ("ALTER DATABASE {db} IS_TEMPLATE true",),
        "grants",
        "changed",
        "database <this database>",
        undo=("ALTER DATABASE {db} IS_TEMPLATE false",),
    ),
}

# Privileges, more forms.
CASES |= {
    "grant option added": Drift(
        ("GRANT SELECT ON trading.fills TO gordon_api WITH GRANT OPTION",),
        "grants",
        "changed",
        "grant on table trading.fills to gordon_api",
    ),
    "TRUNCATE granted": Drift(
        ("GRANT TRUNCATE ON trading.order_intents TO gordon_api",),
        "grants",
        "changed",
        "grant on table trading.order_intents to gordon_api",
    ),
    "column grant revoked": Drift(
        ("REVOKE INSERT (aggregate_id) ON bus.outbox FROM gordon_risk",),
        "column_grants",
        "missing",
        "grant on column bus.outbox.aggregate_id to gordon_risk",
    ),
    "schema USAGE revoked": Drift(
        ("REVOKE USAGE ON SCHEMA market_data FROM gordon_api",),
        "grants",
        "missing",
        "grant on schema market_data to gordon_api",
    ),
    "USAGE on a schema to PUBLIC": Drift(
        ("GRANT USAGE ON SCHEMA trading TO PUBLIC",),
        "grants",
        "unexpected",
        "grant on schema trading to PUBLIC",
    ),
    "EXECUTE on a Gordon function granted": Drift(
        ("GRANT EXECUTE ON FUNCTION trading.ipc_notify_trigger() TO gordon_api",),
        "grants",
        "unexpected",
        "grant on function trading.ipc_notify_trigger() to gordon_api",
    ),
    "INSERT on a view granted": Drift(
        ("GRANT INSERT ON market_data.latest_candles TO gordon_bots",),
        "grants",
        "changed",
        "grant on view market_data.latest_candles to gordon_bots",
    ),
    "TEMPORARY on the database to a Gordon role": Drift(
        ("GRANT TEMPORARY ON DATABASE {db} TO gordon_api",),
        "grants",
        "changed",
        "grant on database <this database> to gordon_api",
    ),
    "CONNECT and TEMPORARY revoked from PUBLIC": Drift(
        ("REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC",),
        "grants",
        "missing",
        "grant on database <this database> to PUBLIC",
    ),
    "default privileges in another schema": Drift(
        ("ALTER DEFAULT PRIVILEGES IN SCHEMA bus GRANT INSERT ON TABLES TO gordon_api",),
        "grants",
        "unexpected",
        "default privileges of <migrator> in schema bus on tables to gordon_api",
    ),
    "default EXECUTE to PUBLIC given back": Drift(
        ("ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC",),
        "grants",
        "missing",
        "default privileges of <migrator> in all schemas on functions to <migrator>",
    ),
    "ALL on every table of a schema": Drift(
        ("GRANT ALL ON ALL TABLES IN SCHEMA bus TO gordon_api",),
        "grants",
        "unexpected",
        "grant on table bus.outbox to gordon_api",
    ),
}


_TYPED = (
    "DO $$ BEGIN EXECUTE format('CREATE TYPE trading.rogue_row AS (%s)', (SELECT string_agg("
    "format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum) "
    "FROM pg_attribute WHERE attrelid = 'trading.venue_balances'::regclass AND attnum > 0 "
    "AND NOT attisdropped)); END $$"
)
_PLPGSQL = "CREATE OR REPLACE LANGUAGE plpgsql HANDLER plpgsql_call_handler"

# The column map's rows the cases above leave unchanged (issue 22, item 6).
CASES |= {
    "table made typed (OF a composite type)": Drift(
        (_TYPED, "ALTER TABLE trading.venue_balances OF trading.rogue_row"),
        "schema",
        "changed",
        "table trading.venue_balances",
        fixable=False,  # the type it is now OF is unexpected too: a person decides
    ),
    "plpgsql's validator removed (bodies no longer checked)": Drift(
        (f"{_PLPGSQL} INLINE plpgsql_inline_handler",),
        "builtins",
        "changed",
        "built-in: language plpgsql",
        fixable=False,
    ),
    "plpgsql's inline handler removed (DO blocks fail)": Drift(
        (f"{_PLPGSQL} VALIDATOR plpgsql_validator",),
        "builtins",
        "changed",
        "built-in: language plpgsql",
        fixable=False,
    ),
    "plpgsql made untrusted": Drift(
        (
            "CREATE OR REPLACE LANGUAGE plpgsql HANDLER plpgsql_call_handler "
            "INLINE plpgsql_inline_handler VALIDATOR plpgsql_validator",
        ),
        "builtins",
        "changed",
        "built-in: language plpgsql",
        fixable=False,
    ),
    "a rule on a view (INSERT does nothing)": Drift(
        ("CREATE RULE rogue_ins AS ON INSERT TO market_data.latest_candles DO INSTEAD NOTHING",),
        "schema",
        "unexpected",
        "rule market_data.latest_candles.rogue_ins",
    ),
    "a rule renamed": Drift(
        (
            "CREATE RULE rogue_named AS ON DELETE TO trading.runs DO INSTEAD NOTHING",
            "ALTER RULE rogue_named ON trading.runs RENAME TO rogue_renamed",
        ),
        "schema",
        "unexpected",
        "rule trading.runs.rogue_renamed",
    ),
    "a rule disabled": Drift(
        (
            "CREATE RULE rogue_off AS ON UPDATE TO trading.runs DO ALSO NOTHING",
            "ALTER TABLE trading.runs DISABLE RULE rogue_off",
        ),
        "schema",
        "unexpected",
        "rule trading.runs.rogue_off",
    ),
    "column privilege on a view": Drift(
        ("GRANT UPDATE (close) ON market_data.latest_candles TO gordon_bots",),
        "column_grants",
        "unexpected",
        "grant on column market_data.latest_candles.close to gordon_bots",
    ),
    "column default on a view": Drift(
        ("ALTER VIEW market_data.latest_candles ALTER COLUMN volume SET DEFAULT 0",),
        "schema",
        "unexpected",
        "column market_data.latest_candles.volume",
    ),
    "view made security_invoker": Drift(
        ("ALTER VIEW market_data.latest_candles SET (security_invoker = true)",),
        "schema",
        "changed",
        "view market_data.latest_candles",
    ),
    "view given a check option": Drift(
        ("ALTER VIEW market_data.instrument_directory SET (check_option = local)",),
        "schema",
        "changed",
        "view market_data.instrument_directory",
    ),
    "identity made BY DEFAULT": Drift(
        ("ALTER TABLE trading.fills ALTER COLUMN fill_id SET GENERATED BY DEFAULT",),
        "schema",
        "changed",
        "column trading.fills.fill_id",
    ),
    "generated column's expression dropped": Drift(
        ("ALTER TABLE trading.equity ALTER COLUMN drawdown DROP EXPRESSION",),
        "schema",
        "changed",
        "column trading.equity.drawdown",
        fixable=False,  # a plain column cannot be made generated again without a rewrite
    ),
    "generated column's expression changed": Drift(
        ("ALTER TABLE trading.equity ALTER COLUMN drawdown SET EXPRESSION AS (0)",),
        "schema",
        "changed",
        "column trading.equity.drawdown",
        since=170000,
    ),
    "foreign key made DEFERRABLE INITIALLY DEFERRED": Drift(
        (
            "ALTER TABLE market_data.candles ALTER CONSTRAINT candles_instrument_id_fkey "
            "DEFERRABLE INITIALLY DEFERRED",
        ),
        "schema",
        "changed",
        "constraint market_data.candles.candles_instrument_id_fkey",
    ),
    "foreign key made NOT ENFORCED": Drift(
        (
            "ALTER TABLE market_data.book_tops ALTER CONSTRAINT book_tops_instrument_id_fkey "
            "NOT ENFORCED",
        ),
        "schema",
        "changed",
        "constraint market_data.book_tops.book_tops_instrument_id_fkey",
        since=180000,
    ),
    "constraint renamed": Drift(
        ("ALTER TABLE trading.runs RENAME CONSTRAINT runs_mode_check TO rogue_check",),
        "schema",
        "missing",
        "constraint trading.runs.runs_mode_check",
        fixable=False,
    ),
    "function made IMMUTABLE, STRICT and PARALLEL SAFE": Drift(
        ("ALTER FUNCTION trading.risk_state_guard() IMMUTABLE STRICT PARALLEL SAFE",),
        "schema",
        "changed",
        "function trading.risk_state_guard()",
    ),
    "function given a planner support function": Drift(
        ("ALTER FUNCTION trading.risk_state_notify() SUPPORT textlike_support",),
        "schema",
        "changed",
        "function trading.risk_state_notify()",
        fixable=False,  # ALTER FUNCTION can set a support function, not take it away
    ),
    "function renamed": Drift(
        ("ALTER FUNCTION trading.risk_state_notify() RENAME TO rogue_renamed",),
        "schema",
        "missing",
        "function trading.risk_state_notify()",
        fixable=False,
    ),
    "trigger renamed": Drift(
        ("ALTER TRIGGER fills_notify ON trading.fills RENAME TO rogue_notify",),
        "schema",
        "missing",
        "trigger trading.fills.fills_notify",
        fixable=False,
    ),
    "trigger calls another function": Drift(
        (
            "DROP TRIGGER order_intents_notify ON trading.order_intents",
            "CREATE TRIGGER order_intents_notify AFTER INSERT ON trading.order_intents "
            "FOR EACH ROW EXECUTE FUNCTION trading.risk_state_notify()",
        ),
        "schema",
        "changed",
        "trigger trading.order_intents.order_intents_notify",
    ),
    "policy WITH CHECK changed": Drift(
        ("ALTER POLICY bot_commands_issue ON trading.bot_commands WITH CHECK (false)",),
        "schema",
        "changed",
        "policy trading.bot_commands.bot_commands_issue",
    ),
    "sequence type": Drift(
        ("ALTER SEQUENCE trading.fills_fill_id_seq AS integer",),
        "schema",
        "changed",
        "sequence trading.fills_fill_id_seq",
    ),
    "sequence MINVALUE": Drift(
        ("ALTER SEQUENCE trading.trades_trade_id_seq MINVALUE -100",),
        "schema",
        "changed",
        "sequence trading.trades_trade_id_seq",
    ),
    "table moved to another access method": Drift(
        (
            "CREATE ACCESS METHOD rogue_heap TYPE TABLE HANDLER heap_tableam_handler",
            "ALTER TABLE trading.venue_balances SET ACCESS METHOD rogue_heap",
        ),
        "schema",
        "changed",
        "table trading.venue_balances",
        fixable=False,  # SET ACCESS METHOD rewrites the table under ACCESS EXCLUSIVE
    ),
    "membership given the ADMIN OPTION": Drift(
        ("GRANT gordon_api TO gordon_bots WITH ADMIN OPTION",),
        "grants",
        "unexpected",
        "membership of gordon_bots in gordon_api",
        undo=("REVOKE gordon_api FROM gordon_bots",),
    ),
    "unexpected range type": Drift(
        (
            "CREATE TYPE trading.rogue_range AS RANGE (SUBTYPE = int4, "
            "SUBTYPE_DIFF = int4range_subdiff)",
        ),
        "schema",
        "unexpected",
        "type trading.rogue_range",
    ),
    "unexpected domain with a default, NOT NULL and a check": Drift(
        (
            "CREATE DOMAIN trading.rogue_qty AS numeric DEFAULT 0 NOT NULL "
            "CONSTRAINT rogue_positive CHECK (VALUE >= 0)",
        ),
        "schema",
        "unexpected",
        "domain trading.rogue_qty",
    ),
    "unexpected operator class": Drift(
        (
            "CREATE OPERATOR CLASS trading.rogue_ops FOR TYPE int USING btree AS "
            "OPERATOR 1 <, OPERATOR 3 =, FUNCTION 1 btint4cmp(int, int)",
        ),
        "schema",
        "unexpected",
        "operator class trading.rogue_ops USING btree",
    ),
    "unexpected exclusion constraint": Drift(
        ("ALTER TABLE trading.runs ADD CONSTRAINT rogue_excl EXCLUDE USING btree (run_id WITH =)",),
        "schema",
        "unexpected",
        "constraint trading.runs.rogue_excl",
    ),
    "event trigger on some command tags": Drift(
        (
            "CREATE FUNCTION trading.rogue_tag_et() RETURNS event_trigger LANGUAGE plpgsql AS "
            "$$ BEGIN END $$",
            "CREATE EVENT TRIGGER rogue_tag_et ON ddl_command_end WHEN TAG IN ('CREATE TABLE') "
            "EXECUTE FUNCTION trading.rogue_tag_et()",
        ),
        "schema",
        "unexpected",
        "event trigger rogue_tag_et",
    ),
    "plpgsql's owner changed in the catalog": Drift(
        ("UPDATE pg_extension SET extowner = 'gordon_api'::regrole WHERE extname = 'plpgsql'",),
        "schema",
        "changed",
        "extension plpgsql",
        fixable=False,
    ),
    "plpgsql's version changed in the catalog": Drift(
        ("UPDATE pg_extension SET extversion = '0.9' WHERE extname = 'plpgsql'",),
        "schema",
        "changed",
        "extension plpgsql",
        fixable=False,
    ),
    "USAGE on a foreign data wrapper and a server granted": Drift(
        (
            "CREATE FOREIGN DATA WRAPPER rogue_fdw_acl",
            "CREATE SERVER rogue_srv_acl FOREIGN DATA WRAPPER rogue_fdw_acl",
            "GRANT USAGE ON FOREIGN DATA WRAPPER rogue_fdw_acl TO gordon_api",
            "GRANT USAGE ON FOREIGN SERVER rogue_srv_acl TO gordon_api",
        ),
        "schema",
        "unexpected",
        "server rogue_srv_acl",
    ),
    "unexpected foreign table": Drift(
        (
            "CREATE FOREIGN DATA WRAPPER rogue_fdw_ft",
            "CREATE SERVER rogue_srv_ft FOREIGN DATA WRAPPER rogue_fdw_ft",
            "CREATE FOREIGN TABLE trading.rogue_ft (id int) SERVER rogue_srv_ft",
        ),
        "schema",
        "unexpected",
        "foreign table trading.rogue_ft",
        fixable=False,
    ),
    "unexpected partial expression index": Drift(
        ("CREATE INDEX rogue_expr_idx ON trading.runs (lower(strategy)) WHERE bot_id IS NOT NULL",),
        "schema",
        "unexpected",
        "index trading.rogue_expr_idx",
    ),
    "unexpected table partitioned by an expression": Drift(
        ("CREATE TABLE trading.rogue_pe (a int) PARTITION BY RANGE ((a + 1))",),
        "schema",
        "unexpected",
        "table trading.rogue_pe",
        fixable=False,
    ),
    "unexpected function with a defaulted argument and a standard body": Drift(
        ("CREATE FUNCTION trading.rogue_std(a int DEFAULT 1) RETURNS int LANGUAGE sql RETURN a",),
        "schema",
        "unexpected",
        "function trading.rogue_std(a integer)",
    ),
    "unexpected C function": Drift(
        (
            "CREATE FUNCTION trading.rogue_c(oid) RETURNS void LANGUAGE c "
            "AS '$libdir/plpgsql', 'plpgsql_validator'",
        ),
        "schema",
        "unexpected",
        "function trading.rogue_c(oid)",
    ),
    "publication of a schema": Drift(
        ("CREATE PUBLICATION rogue_pub_ns FOR TABLES IN SCHEMA bus",),
        "schema",
        "unexpected",
        "publication rogue_pub_ns",
    ),
    "unexpected statistics on an expression": Drift(
        ("CREATE STATISTICS trading.rogue_stx ON (lower(strategy)), bot_id FROM trading.runs",),
        "schema",
        "unexpected",
        "statistics trading.rogue_stx",
    ),
    "unexpected transform": Drift(
        (
            "CREATE TRANSFORM FOR int LANGUAGE plpgsql "
            "(FROM SQL WITH FUNCTION textlike_support(internal))",
        ),
        "schema",
        "unexpected",
        "transform for integer language plpgsql",
    ),
    "unexpected trigger with a transition table": Drift(
        (
            "CREATE TRIGGER rogue_tt AFTER UPDATE ON trading.runs REFERENCING OLD TABLE AS ot "
            "NEW TABLE AS nt FOR EACH STATEMENT EXECUTE FUNCTION trading.risk_state_notify()",
        ),
        "schema",
        "unexpected",
        "trigger trading.runs.rogue_tt",
    ),
    "unexpected text search parser": Drift(
        (
            "CREATE TEXT SEARCH PARSER trading.rogue_prs (START = prsd_start, "
            "GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype)",
        ),
        "schema",
        "unexpected",
        "text search parser trading.rogue_prs",
    ),
    "unexpected foreign key that sets some columns to NULL": Drift(
        (
            "CREATE TABLE trading.rogue_pk (a int PRIMARY KEY)",
            "CREATE TABLE trading.rogue_fk (a int, b int, FOREIGN KEY (a) "
            "REFERENCES trading.rogue_pk ON DELETE SET NULL (a))",
        ),
        "schema",
        "unexpected",
        "table trading.rogue_fk",
        fixable=False,  # its table is unexpected too: dropping it would destroy data
    ),
    "plpgsql renamed in the catalog": Drift(
        ("UPDATE pg_extension SET extname = 'rogue_plpgsql' WHERE extname = 'plpgsql'",),
        "schema",
        "missing",
        "extension plpgsql",
        fixable=False,
    ),
    "plpgsql moved to another schema in the catalog": Drift(
        (
            "UPDATE pg_extension SET extnamespace = 'trading'::regnamespace "
            "WHERE extname = 'plpgsql'",
        ),
        "schema",
        "changed",
        "extension plpgsql",
        fixable=False,
    ),
    "a detach left pending": Drift(
        (
            "CREATE TABLE trading.rogue_parted (id int) PARTITION BY RANGE (id)",
            "CREATE TABLE trading.rogue_part PARTITION OF trading.rogue_parted "
            "FOR VALUES FROM (0) TO (10)",
            "UPDATE pg_inherits SET inhdetachpending = true "
            "WHERE inhrelid = 'trading.rogue_part'::regclass",
        ),
        "schema",
        "unexpected",
        "table trading.rogue_part",
        fixable=False,
    ),
}


def _statements(db: GordonDatabase, change: Drift, *, undo: bool = False) -> list[str]:
    name = sql.Identifier(db.name).as_string()
    return [s.replace("{db}", name) for s in (change.undo if undo else change.sql)]


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


def _column_digests(db: GordonDatabase, rows: Sequence[str]) -> dict[str, str]:
    """``catalog.column`` -> a digest of the column's values over the whole catalog (those this
    server has): a case provokes the row when the digest changes."""
    out = {}
    with db.connect() as conn:
        for row in rows:
            catalog, column = row.split(".")
            exists = conn.execute(
                "SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s "
                "AND attnum > 0",
                (f"pg_catalog.{catalog}", column),
            ).fetchone()
            if exists is None:
                continue
            query = sql.SQL(
                "SELECT md5(coalesce(string_agg({c}::text, ',' ORDER BY {c}::text), '')) "
                "FROM pg_catalog.{t}"
            ).format(c=sql.Identifier(column), t=sql.Identifier(catalog))
            found = conn.execute(query).fetchone()
            assert found is not None
            out[row] = str(found[0])
    return out


def test_every_compared_row_of_the_column_map_is_provoked_or_says_why_not() -> None:
    """Each row of drift/catalogs.py's column map that drift-check compares is changed by a
    case above (checked when the case runs) or is named in UNPROVOKED with the reason."""
    compared = {
        f"{catalog}.{column}"
        for catalog, columns in COLUMNS.items()
        for column, decision in columns.items()
        if decision.startswith("compared: ")
    }
    assert sorted(compared - PROVOKED.keys() - UNPROVOKED.keys()) == []
    assert sorted((PROVOKED.keys() | UNPROVOKED.keys()) - compared) == []
    assert sorted(PROVOKED.keys() & UNPROVOKED.keys()) == []
    assert sorted(set(PROVOKED.values()) - CASES.keys()) == []
    assert all(len(why) > 20 for why in UNPROVOKED.values())


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_provoked_drift_is_named_and_fixed(
    cli: CliRunner, gordon_db: GordonDatabase, case: str
) -> None:
    change = CASES[case]
    if gordon_db.server.version * 10000 < change.since:
        pytest.skip(f"PostgreSQL {change.since // 10000}+ only")
    reader = gordon_db.dsn_as("gordon_drift_reader")
    try:
        rows = sorted(row for row, by in PROVOKED.items() if by == case)
        unchanged = _column_digests(gordon_db, rows)
        execute(gordon_db, *_statements(gordon_db, change))
        provoked = _column_digests(gordon_db, rows)
        assert [row for row in unchanged if unchanged[row] == provoked[row]] == [], "unchanged"
        with gordon_db.connect() as conn:  # a row in every table the fix could touch
            conn.execute(
                "INSERT INTO public._sqlx_migrations (version, description, success, checksum, "
                "execution_time) VALUES (9999, 'row', true, '\\x00', 1)"
            )
        code, payload, _ = drift(cli, reader)
        assert code == 1, case
        difference = find(payload, change.check, change.object)
        assert difference["kind"] == change.kind
        # The text report names it too: held for every case at once, below.

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
        execute(gordon_db, *_statements(gordon_db, change, undo=True))


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
    """Recall over every fixable case together (one database), in JSON and in the text report,
    and one script fixes all."""
    chosen = {n: c for n, c in CASES.items() if c.fixable and not c.undo and not c.since}
    with gordon_db.connect() as conn:
        for change in chosen.values():
            for statement in _statements(gordon_db, change):
                conn.execute(statement.encode())
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    found = {(c, d["object"]) for c, ds in failing(payload).items() for d in ds}
    missed = [n for n, c in chosen.items() if (c.check, c.object) not in found]
    assert missed == []
    text = cli("drift-check", "--database-url", gordon_db.dsn_as("gordon_drift_reader"))
    assert text.code == 1
    # Each named on a line of its own (its kind may differ here: two cases can change one
    # object; the JSON above held each case's kind alone).
    headings = [line for line in text.out.splitlines() if re.match(r"  \S", line)]
    named = {line.split(maxsplit=1)[1] for line in headings}
    unnamed = [n for n, c in chosen.items() if c.object not in named]
    assert unnamed == []
    script = cli("drift-check", "--database-url", gordon_db.dsn, "--fix-sql").out
    apply_script(gordon_db, script)
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 0, [(d["object"], d["kind"]) for ds in failing(payload).values() for d in ds]


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
    "VACUUM FULL": ("VACUUM FULL trading.fills",),
    "REINDEX CONCURRENTLY": (
        "REINDEX INDEX CONCURRENTLY trading.fills_filled_at_idx",
        "REINDEX TABLE CONCURRENTLY trading.runs",
    ),
    "an index rebuilt by hand under the same name": (
        "DROP INDEX trading.order_intents_run_id_idx",
        "CREATE INDEX CONCURRENTLY order_intents_run_id_idx ON trading.order_intents "
        "USING btree (run_id, created_at)",
    ),
    "re-granting what is already held": (
        "GRANT SELECT ON trading.runs TO gordon_risk",
        "GRANT USAGE ON SCHEMA trading TO gordon_api",
    ),
    "a policy dropped and re-created identically": (
        "DROP POLICY bot_leases_read_all ON trading.bot_leases",
        "CREATE POLICY bot_leases_read_all ON trading.bot_leases FOR SELECT "
        "TO gordon_api, gordon_bots, gordon_risk, gordon_trading USING (true)",
    ),
    "storage and compression of a column": (
        "ALTER TABLE bus.outbox ALTER COLUMN payload SET STORAGE EXTERNAL",
        "ALTER TABLE bus.outbox ALTER COLUMN headers SET COMPRESSION pglz",
    ),
    "a column's planner options": (
        "ALTER TABLE trading.fills ALTER COLUMN fill_id SET (n_distinct = 100)",
    ),
    "a temporary table of a session that ended": ("CREATE TEMP TABLE scratch (id int)",),
    "checkpoint and statistics reset": ("CHECKPOINT", "SELECT pg_stat_reset()"),
}

# Cluster-wide routine operations (undone after the test).
NOT_DRIFT_CLUSTER: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "a monitoring role in pg_monitor": (
        ("CREATE ROLE drift_monitor LOGIN", "GRANT pg_monitor TO drift_monitor"),
        ("DROP ROLE IF EXISTS drift_monitor",),
    ),
    "another application's database and roles on the cluster": (
        (
            "CREATE ROLE drift_app2 LOGIN",
            "CREATE DATABASE drift_app2_db OWNER drift_app2",
            "GRANT pg_read_all_stats TO drift_app2",
            "GRANT SET ON PARAMETER work_mem TO drift_app2",
            "ALTER ROLE drift_app2 SET work_mem = '64MB'",
            "ALTER ROLE drift_app2 IN DATABASE drift_app2_db SET search_path = app",
        ),
        (
            "DROP DATABASE IF EXISTS drift_app2_db",
            "REVOKE SET ON PARAMETER work_mem FROM drift_app2",
            "DROP ROLE IF EXISTS drift_app2",
        ),
    ),
    "a password set by provisioning": (
        ("ALTER ROLE gordon_api PASSWORD 'rotated-by-provisioning'",),
        ("ALTER ROLE gordon_api PASSWORD NULL",),
    ),
    "an expiry of 'infinity' (never, like none)": (
        ("ALTER ROLE gordon_risk VALID UNTIL 'infinity'",),
        (),
    ),
}


@pytest.mark.parametrize("case", list(NOT_DRIFT_CLUSTER), ids=list(NOT_DRIFT_CLUSTER))
def test_routine_cluster_operations_stay_clean(
    cli: CliRunner, gordon_db: GordonDatabase, case: str
) -> None:
    change, undo = NOT_DRIFT_CLUSTER[case]
    try:
        execute(gordon_db, *change)
        code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    finally:
        execute(gordon_db, *undo)
    assert code == 0, failing(payload)


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
        if entry.how == "identity" and entry.listed:
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
    from gordon_migrate.drift.kinds import split_last

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
