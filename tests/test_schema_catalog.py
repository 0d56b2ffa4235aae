"""The Gordon schema as the catalog sees it, on a database with every bundled migration applied.

These are the invariants a patch must keep: who owns what, who may do what (the grant matrix of
docs/schema.md, pinned here), what PUBLIC and the drift reader hold (nothing), and the quality
rules (indexed foreign keys, exact numeric types, constrained states, a true singleton).
"""

from __future__ import annotations

import re

import psycopg
import pytest

from gordon_migrate.testing import GordonDatabase
from tests.support.roles import ALL_ROLES, DRIFT_READER, GORDON_SCHEMAS, RUNTIME_ROLES
from tests.support.sql import rows, texts

SEARCH_PATHS = {
    "gordon_ingest": "market_data",
    "gordon_trading": "trading, market_data",
    "gordon_bots": "trading, market_data",
    "gordon_risk": "trading, market_data",
    "gordon_api": "trading, market_data",
    "gordon_outbox_relay": "bus",
    "gordon_drift_reader": "pg_catalog",
}

_LETTERS = {"S": "SELECT", "I": "INSERT", "U": "UPDATE", "D": "DELETE"}
READER_VIEWS = [
    "market_data.instrument_directory",
    "market_data.candle_history",
    "market_data.latest_candles",
    "market_data.latest_book_tops",
]

# Table-level privileges: relation -> role -> S(ELECT) I(NSERT) U(PDATE) D(ELETE).
# Nobody holds TRUNCATE, REFERENCES, TRIGGER or MAINTAIN; nothing is granted on a sequence.
TABLE_GRANTS: dict[str, dict[str, str]] = {
    "market_data.instruments": {"gordon_ingest": "SI", "gordon_trading": "S"},
    "market_data.candles": {"gordon_ingest": "SI", "gordon_trading": "S"},
    "market_data.trade_prints": {"gordon_ingest": "SI", "gordon_trading": "S"},
    "market_data.book_tops": {"gordon_ingest": "SI", "gordon_trading": "S"},
    "market_data.funding_rates": {"gordon_ingest": "SI", "gordon_trading": "S"},
    "market_data.open_interest": {"gordon_ingest": "SI", "gordon_trading": "S"},
    "market_data.instrument_aliases": {"gordon_ingest": "SID", "gordon_trading": "S"},
    **{
        view: {"gordon_trading": "S", "gordon_bots": "S", "gordon_risk": "S", "gordon_api": "S"}
        for view in READER_VIEWS
    },
    "trading.runs": {"gordon_trading": "SI", "gordon_risk": "S", "gordon_api": "S"},
    "trading.roundtrips": {"gordon_trading": "SIU", "gordon_risk": "S", "gordon_api": "S"},
    "trading.equity": {"gordon_trading": "SI", "gordon_risk": "S", "gordon_api": "S"},
    "trading.pipeline_state": {"gordon_trading": "SIU", "gordon_risk": "S", "gordon_api": "S"},
    "trading.order_intents": {"gordon_trading": "SIU", "gordon_risk": "S", "gordon_api": "S"},
    "trading.order_events": {"gordon_trading": "SI", "gordon_risk": "S", "gordon_api": "S"},
    "trading.fills": {"gordon_trading": "SI", "gordon_risk": "S", "gordon_api": "S"},
    "trading.trades": {"gordon_trading": "SI", "gordon_risk": "S", "gordon_api": "S"},
    "trading.venue_balances": {"gordon_trading": "SI", "gordon_risk": "S", "gordon_api": "S"},
    "trading.bot_configs": {"gordon_trading": "S"},
    "trading.bot_commands": {
        "gordon_trading": "SI",
        "gordon_risk": "SI",
        "gordon_bots": "S",
        "gordon_api": "S",
    },
    "trading.bot_events": {
        "gordon_bots": "SI",
        "gordon_trading": "S",
        "gordon_risk": "S",
        "gordon_api": "S",
    },
    "trading.bot_leases": {
        "gordon_bots": "SIUD",
        "gordon_trading": "S",
        "gordon_risk": "S",
        "gordon_api": "S",
    },
    "trading.bot_positions": {
        "gordon_bots": "SIU",
        "gordon_trading": "S",
        "gordon_risk": "S",
        "gordon_api": "S",
    },
    "trading.risk_config": {"gordon_risk": "SI", "gordon_trading": "S", "gordon_api": "S"},
    "trading.risk_events": {"gordon_risk": "SI", "gordon_api": "S"},
    "trading.risk_audit": {"gordon_risk": "SI"},
    "trading.risk_state": {
        "gordon_risk": "SU",
        "gordon_trading": "S",
        "gordon_bots": "S",
        "gordon_api": "S",
    },
    "trading.daily_notional_caps": {"gordon_risk": "SI", "gordon_trading": "S", "gordon_api": "S"},
    "trading.daily_notional_usage": {
        "gordon_trading": "SIU",
        "gordon_risk": "S",
        "gordon_api": "S",
    },
    "bus.outbox": {"gordon_outbox_relay": "SD"},
}

BOT_CONFIG_PUBLIC_COLUMNS = frozenset(
    {
        "bot_id",
        "display_name",
        "strategy",
        "instrument_id",
        "mode",
        "enabled",
        "disabled_reason",
        "params",
        "max_position_notional",
        "venue_account",
        "created_at",
        "updated_at",
        "credentials_rotated_at",
    }
)
OUTBOX_PRODUCER_COLUMNS = frozenset(
    {"topic", "aggregate_type", "aggregate_id", "payload", "headers"}
)

# Column-level privileges: (relation, role, privilege) -> columns.
COLUMN_GRANTS: dict[tuple[str, str, str], frozenset[str]] = {
    ("market_data.instruments", "gordon_ingest", "UPDATE"): frozenset(
        {
            "tick_size",
            "lot_size",
            "min_notional",
            "is_active",
            "listed_at",
            "expires_at",
            "updated_at",
            "contract_size",
        }
    ),
    ("market_data.candles", "gordon_ingest", "UPDATE"): frozenset(
        {
            "close_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "quote_volume",
            "trade_count",
            "is_closed",
            "ingested_at",
        }
    ),
    ("trading.runs", "gordon_trading", "UPDATE"): frozenset(
        {"status", "started_at", "ended_at", "failure_reason"}
    ),
    ("trading.trades", "gordon_trading", "UPDATE"): frozenset({"roundtrip_id"}),
    ("trading.bot_configs", "gordon_bots", "SELECT"): BOT_CONFIG_PUBLIC_COLUMNS,
    ("trading.bot_configs", "gordon_risk", "SELECT"): BOT_CONFIG_PUBLIC_COLUMNS,
    ("trading.bot_configs", "gordon_api", "SELECT"): BOT_CONFIG_PUBLIC_COLUMNS,
    ("trading.bot_configs", "gordon_risk", "UPDATE"): frozenset(
        {"enabled", "disabled_reason", "updated_at"}
    ),
    ("trading.bot_commands", "gordon_bots", "UPDATE"): frozenset(
        {"status", "acknowledged_at", "completed_at", "result"}
    ),
    ("trading.risk_events", "gordon_risk", "UPDATE"): frozenset(
        {"acknowledged_at", "acknowledged_by"}
    ),
    ("trading.risk_audit", "gordon_api", "SELECT"): frozenset(
        {
            "audit_id",
            "actor",
            "action",
            "bot_id",
            "config_id",
            "reason",
            "occurred_at",
            "crashed_during",
        }
    ),
    ("bus.outbox", "gordon_trading", "INSERT"): OUTBOX_PRODUCER_COLUMNS,
    ("bus.outbox", "gordon_bots", "INSERT"): OUTBOX_PRODUCER_COLUMNS,
    ("bus.outbox", "gordon_risk", "INSERT"): OUTBOX_PRODUCER_COLUMNS,
    ("bus.outbox", "gordon_outbox_relay", "UPDATE"): frozenset(
        {
            "delivered_at",
            "attempts",
            "next_attempt_at",
            "last_error",
            "claimed_by",
            "claim_expires_at",
            "dead_lettered_at",
        }
    ),
}

SCHEMA_USAGE = {
    "market_data": {"gordon_ingest", "gordon_trading", "gordon_bots", "gordon_risk", "gordon_api"},
    "trading": {"gordon_trading", "gordon_bots", "gordon_risk", "gordon_api"},
    "bus": {"gordon_trading", "gordon_bots", "gordon_risk", "gordon_outbox_relay"},
}

# Tables whose rows belong to a bot or a worker: row-level security on, policies per role.
RLS_TABLES = {
    "trading.bot_configs": {
        "bot_configs_own_bot": ("r", "gordon_bots"),
        "bot_configs_read_all": ("r", "gordon_api,gordon_risk,gordon_trading"),
        "bot_configs_risk_switch": ("w", "gordon_risk"),
    },
    "trading.bot_commands": {
        "bot_commands_own_bot": ("*", "gordon_bots"),
        "bot_commands_read_all": ("r", "gordon_api,gordon_risk,gordon_trading"),
        "bot_commands_issue": ("a", "gordon_risk,gordon_trading"),
    },
    "trading.bot_events": {
        "bot_events_own_bot": ("*", "gordon_bots"),
        "bot_events_read_all": ("r", "gordon_api,gordon_risk,gordon_trading"),
    },
    "trading.bot_positions": {
        "bot_positions_own_bot": ("*", "gordon_bots"),
        "bot_positions_read_all": ("r", "gordon_api,gordon_risk,gordon_trading"),
    },
    "trading.bot_leases": {
        "bot_leases_read_all": ("r", "gordon_api,gordon_bots,gordon_risk,gordon_trading"),
        "bot_leases_acquire": ("a", "gordon_bots"),
        "bot_leases_renew_or_take_over": ("w", "gordon_bots"),
        "bot_leases_release": ("d", "gordon_bots"),
    },
    "bus.outbox": {
        "outbox_produce": ("a", "gordon_bots,gordon_risk,gordon_trading"),
        "outbox_relay_read": ("r", "gordon_outbox_relay"),
        "outbox_relay_claim": ("w", "gordon_outbox_relay"),
        "outbox_relay_prune": ("d", "gordon_outbox_relay"),
    },
}

NOTIFY_ALLOWLIST = {
    "gordon_orders",
    "gordon_fills",
    "gordon_bot_commands",
    "gordon_bot_events",
    "gordon_risk_events",
    "gordon_risk_state",
    "gordon_outbox",
}


def test_relations_are_exactly_the_documented_ones(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        found = texts(
            conn,
            "SELECT n.nspname || '.' || c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
            [GORDON_SCHEMAS],
        )
    assert set(found) == set(TABLE_GRANTS)


def test_every_relation_is_granted_to_at_least_one_runtime_role(gordon_db: GordonDatabase) -> None:
    """A patch that adds a table and forgets its grants fails here (and nobody can reach it)."""
    with gordon_db.connect() as conn:
        relations = texts(
            conn,
            "SELECT c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
            [GORDON_SCHEMAS],
        )
        ungranted = texts(
            conn,
            """
            SELECT c.oid::regclass::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND NOT EXISTS (
                  SELECT FROM aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
                  WHERE r.rolname = ANY(%(roles)s))
              AND NOT EXISTS (
                  SELECT FROM pg_attribute att CROSS JOIN LATERAL aclexplode(att.attacl) a
                  JOIN pg_roles r ON r.oid = a.grantee
                  WHERE att.attrelid = c.oid AND r.rolname = ANY(%(roles)s))
            """,
            {"schemas": GORDON_SCHEMAS, "roles": RUNTIME_ROLES},
        )
    assert len(relations) >= 30, "the check must not pass vacuously"
    assert ungranted == []


def test_table_grant_matrix_is_the_documented_one(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        found = rows(
            conn,
            """
            SELECT n.nspname || '.' || c.relname, r.rolname, a.privilege_type
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL aclexplode(c.relacl) a
            JOIN pg_roles r ON r.oid = a.grantee
            WHERE n.nspname = ANY(%s) AND r.rolname = ANY(%s)
            """,
            [GORDON_SCHEMAS, ALL_ROLES],
        )
    actual: dict[str, dict[str, set[str]]] = {}
    for relation, role, privilege in found:
        actual.setdefault(str(relation), {}).setdefault(str(role), set()).add(str(privilege))
    expected = {
        relation: {role: {_LETTERS[x] for x in letters} for role, letters in grants.items()}
        for relation, grants in TABLE_GRANTS.items()
        if grants
    }
    assert actual == expected


def test_column_grant_matrix_is_the_documented_one(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        found = rows(
            conn,
            """
            SELECT n.nspname || '.' || c.relname, r.rolname, a.privilege_type, att.attname
            FROM pg_attribute att
            JOIN pg_class c ON c.oid = att.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL aclexplode(att.attacl) a
            JOIN pg_roles r ON r.oid = a.grantee
            WHERE n.nspname = ANY(%s) AND r.rolname = ANY(%s)
              AND att.attnum > 0 AND NOT att.attisdropped
            """,
            [GORDON_SCHEMAS, ALL_ROLES],
        )
    actual: dict[tuple[str, str, str], set[str]] = {}
    for relation, role, privilege, column in found:
        actual.setdefault((str(relation), str(role), str(privilege)), set()).add(str(column))
    assert actual == {key: set(columns) for key, columns in COLUMN_GRANTS.items()}


def test_secret_columns_are_readable_by_the_trading_engine_only(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        for column in ("venue_api_key", "venue_api_secret"):
            readers = texts(
                conn,
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)"
                " AND has_column_privilege(oid, 'trading.bot_configs', %s, 'SELECT')",
                [ALL_ROLES, column],
            )
            assert readers == ["gordon_trading"], column


def test_schema_usage_is_the_documented_one_and_nobody_may_create(
    gordon_db: GordonDatabase,
) -> None:
    with gordon_db.connect() as conn:
        for schema, users in SCHEMA_USAGE.items():
            holders = texts(
                conn,
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)"
                " AND has_schema_privilege(oid, %s, 'USAGE')",
                [ALL_ROLES, schema],
            )
            assert set(holders) == users, schema
        creators = rows(
            conn,
            """
            SELECT r.rolname, n.nspname FROM pg_roles r CROSS JOIN pg_namespace n
            WHERE r.rolname = ANY(%(roles)s)
              AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
              AND has_schema_privilege(r.oid, n.oid, 'CREATE')
            UNION ALL
            SELECT r.rolname, '(database)' FROM pg_roles r
            WHERE r.rolname = ANY(%(roles)s)
              AND has_database_privilege(r.oid, current_database(), 'CREATE')
            """,
            {"roles": ALL_ROLES},
        )
    assert creators == []


def test_no_runtime_role_owns_anything(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        owned = texts(
            conn,
            """
            SELECT 'relation ' || c.oid::regclass::text FROM pg_class c
                JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = ANY(%(roles)s)
            UNION ALL
            SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
                JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = ANY(%(roles)s)
            UNION ALL
            SELECT 'schema ' || n.nspname FROM pg_namespace n
                JOIN pg_roles r ON r.oid = n.nspowner WHERE r.rolname = ANY(%(roles)s)
            UNION ALL
            SELECT 'type ' || t.oid::regtype::text FROM pg_type t
                JOIN pg_roles r ON r.oid = t.typowner WHERE r.rolname = ANY(%(roles)s)
            UNION ALL
            SELECT 'database ' || d.datname FROM pg_database d
                JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = ANY(%(roles)s)
            UNION ALL
            -- Anything else, in any database of the cluster: ownership is recorded in the
            -- shared catalog pg_shdepend.
            SELECT 'object ' || d.classid::regclass::text || ' ' || d.objid FROM pg_shdepend d
                JOIN pg_roles r ON r.oid = d.refobjid
                WHERE d.refclassid = 'pg_authid'::regclass AND d.deptype = 'o'
                  AND r.rolname = ANY(%(roles)s)
            """,
            {"roles": ALL_ROLES},
        )
    assert owned == []


def test_public_gets_nothing_in_the_gordon_schemas(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        granted = rows(
            conn,
            """
            SELECT 'schema ' || n.nspname, a.privilege_type FROM pg_namespace n
                CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                WHERE n.nspname = ANY(%(schemas)s) AND a.grantee = 0
            UNION ALL
            SELECT 'relation ' || c.oid::regclass::text, a.privilege_type FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(
                    CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
                WHERE n.nspname = ANY(%(schemas)s) AND a.grantee = 0
            UNION ALL
            SELECT 'column ' || c.oid::regclass::text || '.' || att.attname, a.privilege_type
                FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                CROSS JOIN LATERAL aclexplode(att.attacl) a
                WHERE n.nspname = ANY(%(schemas)s) AND a.grantee = 0
            UNION ALL
            SELECT 'function ' || p.oid::regprocedure::text, a.privilege_type FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE n.nspname = ANY(%(schemas)s) AND a.grantee = 0
            """,
            {"schemas": GORDON_SCHEMAS},
        )
        # Functions the migrating role creates later are not executable by PUBLIC either:
        # a global default privilege of that role (per-schema defaults cannot revoke).
        function_defaults = rows(
            conn,
            """
            SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
                   a.privilege_type, a.grantee = d.defaclrole
            FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a
            WHERE d.defaclobjtype = 'f' AND d.defaclnamespace = 0
              AND d.defaclrole = current_user::regrole
            """,
        )
    assert granted == []
    assert [(privilege, own) for _, privilege, own in function_defaults] == [("EXECUTE", True)]


def test_drift_reader_holds_no_privilege_on_any_gordon_object(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        held = rows(
            conn,
            """
            SELECT c.oid::regclass::text, p.privilege
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                    'REFERENCES', 'TRIGGER']) AS p (privilege)
            WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND has_table_privilege(%(role)s, c.oid, p.privilege)
            UNION ALL
            SELECT c.oid::regclass::text, 'a column'
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND has_any_column_privilege(%(role)s, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES')
            UNION ALL
            SELECT c.oid::regclass::text, 'sequence'
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%(schemas)s) AND c.relkind = 'S'
              -- CASE: the planner may call the function before filtering on relkind
              AND CASE WHEN c.relkind = 'S'
                       THEN has_sequence_privilege(%(role)s, c.oid, 'USAGE, SELECT, UPDATE') END
            UNION ALL
            SELECT n.nspname, 'schema' FROM pg_namespace n
            WHERE n.nspname = ANY(%(schemas)s)
              AND has_schema_privilege(%(role)s, n.oid, 'USAGE, CREATE')
            UNION ALL
            SELECT p.oid::regprocedure::text, 'EXECUTE'
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY(%(schemas)s)
              AND has_function_privilege(%(role)s, p.oid, 'EXECUTE')
            """,
            {"schemas": GORDON_SCHEMAS, "role": DRIFT_READER},
        )
    assert held == []


def test_runtime_roles_are_login_only_with_cluster_wide_search_path(
    gordon_db: GordonDatabase,
) -> None:
    with gordon_db.connect() as conn:
        attributes = rows(
            conn,
            "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication,"
            " rolbypassrls FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname",
            [ALL_ROLES],
        )
        settings = rows(
            conn,
            "SELECT r.rolname, s.setdatabase, array_to_string(s.setconfig, ';')"
            " FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
            " WHERE r.rolname = ANY(%s)",
            [ALL_ROLES],
        )
        memberships = rows(
            conn,
            "SELECT r.rolname, g.rolname FROM pg_auth_members m"
            " JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid"
            " WHERE r.rolname = ANY(%s)",
            [ALL_ROLES],
        )
    assert attributes == [
        (role, True, False, False, False, False, False) for role in sorted(ALL_ROLES)
    ]
    # Cluster-wide (setdatabase 0): CREATE DATABASE ... TEMPLATE clones do not copy
    # per-database role settings.
    assert sorted((str(r), str(d), str(c)) for r, d, c in settings) == sorted(
        (role, "0", f"search_path={path}") for role, path in SEARCH_PATHS.items()
    )
    assert memberships == []


def test_every_foreign_key_is_indexed(gordon_db: GordonDatabase) -> None:
    """An index leads with exactly the key's columns: parent deletes and joins stay cheap."""
    with gordon_db.connect() as conn:
        foreign_keys = texts(
            conn,
            "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'f' AND n.nspname = ANY(%s)",
            [GORDON_SCHEMAS],
        )
        unindexed = texts(
            conn,
            """
            SELECT c.conrelid::regclass::text || ' ' || c.conname
            FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE c.contype = 'f' AND n.nspname = ANY(%s)
              AND NOT EXISTS (
                  SELECT FROM pg_index i
                  CROSS JOIN LATERAL (
                      SELECT (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)]
                  ) AS lead (cols)
                  WHERE i.indrelid = c.conrelid AND i.indisvalid AND i.indpred IS NULL
                    AND lead.cols @> c.conkey AND lead.cols <@ c.conkey)
            """,
            [GORDON_SCHEMAS],
        )
    assert len(foreign_keys) >= 30, "the check must not pass vacuously"
    assert unindexed == []


def test_column_types_are_exact(gordon_db: GordonDatabase) -> None:
    """Money and quantities are numeric with a precision, times are timestamptz, JSON is jsonb."""
    with gordon_db.connect() as conn:
        numerics = texts(
            conn,
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind = 'r' AND a.attnum > 0"
            " AND a.atttypid = 'numeric'::regtype",
            [GORDON_SCHEMAS],
        )
        wrong = rows(
            conn,
            """
            SELECT c.oid::regclass::text || '.' || a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND a.attnum > 0
              AND NOT a.attisdropped
              AND (a.atttypid IN ('real'::regtype, 'double precision'::regtype, 'money'::regtype,
                                  'timestamp'::regtype, 'time'::regtype, 'timetz'::regtype,
                                  'json'::regtype, 'character varying'::regtype,
                                  'character'::regtype)
                   OR (a.atttypid = 'numeric'::regtype AND a.atttypmod = -1))
            """,
            [GORDON_SCHEMAS],
        )
    assert len(numerics) >= 50
    assert wrong == []


def test_every_table_has_a_primary_key(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        missing = texts(
            conn,
            "SELECT c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT EXISTS ("
            "   SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')",
            [GORDON_SCHEMAS],
        )
    assert missing == []


STATE_COLUMNS = [
    "status",
    "mode",
    "kind",
    "side",
    "taker_side",
    "scope",
    "severity",
    "action",
    "event_type",
    "command",
    "stage",
    "direction",
    "liquidity",
    "order_type",
    "time_in_force",
    "timeframe",
    "exit_reason",
    "crashed_during",
]


def test_every_state_column_is_constrained(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        state_columns = rows(
            conn,
            """
            SELECT c.oid::regclass::text || '.' || a.attname,
                   EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid
                           AND k.contype = 'c' AND a.attnum = ANY(k.conkey)),
                   a.attnotnull OR a.attname IN ('exit_reason', 'crashed_during')
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%s) AND c.relkind = 'r' AND a.attnum > 0
              AND NOT a.attisdropped AND a.attname = ANY(%s)
            """,
            [GORDON_SCHEMAS, STATE_COLUMNS],
        )
    assert len(state_columns) >= 25
    assert [r[0] for r in state_columns if not (r[1] and r[2])] == []


def test_row_level_security_is_on_where_rows_belong_to_a_bot_or_worker(
    gordon_db: GordonDatabase,
) -> None:
    with gordon_db.connect() as conn:
        enabled = texts(
            conn,
            "SELECT c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relrowsecurity",
            [GORDON_SCHEMAS],
        )
        policies = rows(
            conn,
            """
            SELECT p.polrelid::regclass::text, p.polname, p.polcmd::text,
                   (SELECT string_agg(r.rolname, ',' ORDER BY r.rolname)
                    FROM pg_roles r WHERE r.oid = ANY(p.polroles)),
                   p.polpermissive
            FROM pg_policy p
            """,
        )
    assert set(enabled) == set(RLS_TABLES)
    actual: dict[str, dict[str, tuple[str, str]]] = {}
    for table, name, command, roles, permissive in policies:
        assert permissive is True
        actual.setdefault(str(table), {})[str(name)] = (str(command), str(roles))
    assert actual == RLS_TABLES


def test_notify_channels_are_static_and_allowlisted(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        source = texts(
            conn, "SELECT prosrc FROM pg_proc WHERE oid = 'trading.ipc_notify_trigger'::regproc"
        )
        triggers = rows(
            conn,
            """
            SELECT t.tgrelid::regclass::text, t.tgname, t.tgtype,
                   encode(t.tgargs, 'escape')
            FROM pg_trigger t
            WHERE NOT t.tgisinternal AND t.tgfoid = 'trading.ipc_notify_trigger'::regproc
            """,
        )
        notifying = rows(
            conn,
            """
            SELECT p.oid::regprocedure::text, p.prosrc FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY(%s) AND p.prosrc ~* '(pg_notify|notify)'
            """,
            [GORDON_SCHEMAS],
        )
    allowlist_block = re.search(r"<> ALL \(ARRAY\[(.*?)\]\)", source[0], re.S)
    assert allowlist_block is not None
    allowlist = set(re.findall(r"'([a-z_]+)'", allowlist_block.group(1)))
    assert allowlist == NOTIFY_ALLOWLIST

    used: set[str] = set()
    for table, name, tgtype, args in triggers:
        arguments = str(args).split("\\000")
        assert arguments[0] in allowlist, (table, name)
        assert len(arguments) >= 3, f"{name}: a channel and at least one key column"
        timing_before, row_level = int(str(tgtype)) & 2, int(str(tgtype)) & 1
        assert (timing_before, row_level) == (0, 1), f"{name} must be AFTER ... FOR EACH ROW"
        used.add(arguments[0])
    for function, body in notifying:
        literal = re.findall(r"pg_notify\('([a-z_]+)'", str(body))
        if function == "trading.ipc_notify_trigger()":
            assert "pg_notify(channel, payload)" in str(body)
            continue
        assert literal, f"{function} notifies on a channel that is not a literal"
        assert set(literal) <= allowlist, function
        used.update(literal)
    assert used == allowlist, "every allowlisted channel is used, and nothing else"


def test_risk_state_is_a_true_singleton(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        assert texts(conn, "SELECT mode FROM trading.risk_state") == ["halted"]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO trading.risk_state (mode, reason, changed_by)"
                " VALUES ('halted', 'second row', 'test')"
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO trading.risk_state (singleton, mode, reason, changed_by)"
                " VALUES (false, 'halted', 'second row', 'test')"
            )
        # Even the owner (who bypasses grants) cannot make the row disappear.
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute("DELETE FROM trading.risk_state")
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute("TRUNCATE trading.risk_state")
        assert texts(conn, "SELECT count(*) FROM trading.risk_state") == ["1"]
