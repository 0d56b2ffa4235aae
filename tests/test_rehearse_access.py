"""The access contract: each migration's access delta, measured by rehearse on a scratch.

One rehearsal from empty of the bundled migrations followed by one migration per class of
change (0039-0050, each provoking one), on the test server; each test reads its migration's
delta. The bundled 38 of the same run must produce exactly the grandfathered errors of
``tests/data/access_grandfathered.txt``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gordon_migrate.core import bundle, dsn
from gordon_migrate.rehearse.access import errors
from gordon_migrate.rehearse.model import AccessChange, MigrationFacts, Rehearsal
from gordon_migrate.rehearse.run import rehearse
from gordon_migrate.testing import TestServer
from tests.support.cli import Bundle, CliRunner

GRANDFATHERED = Path(__file__).parent / "data" / "access_grandfathered.txt"
PROBE = f"gordon_access_probe_{secrets.token_hex(4)}"

# One class of change each, in an order where none disturbs the next one's table.
CHANGES = {
    "0039_revoke_runtime.sql": "REVOKE DELETE ON trading.bot_leases FROM gordon_bots;\n",
    "0040_grant_public.sql": "GRANT SELECT ON trading.fills TO PUBLIC;\n",
    "0041_owner_to_runtime.sql": "ALTER TABLE trading.order_intents OWNER TO gordon_api;\n",
    "0042_rls_no_policy.sql": "ALTER TABLE trading.runs ENABLE ROW LEVEL SECURITY;\n",
    "0043_rls_with_policies.sql": (
        "ALTER TABLE trading.equity ENABLE ROW LEVEL SECURITY;\n"
        "CREATE POLICY equity_read ON trading.equity FOR SELECT\n"
        "    TO gordon_api, gordon_risk, gordon_trading USING (true);\n"
        "CREATE POLICY equity_write ON trading.equity FOR INSERT\n"
        "    TO gordon_trading WITH CHECK (true);\n"
    ),
    "0044_force_rls.sql": "ALTER TABLE trading.bot_leases FORCE ROW LEVEL SECURITY;\n",
    "0045_disable_guard.sql": (
        "ALTER TABLE trading.risk_state DISABLE TRIGGER risk_state_no_delete;\n"
    ),
    "0046_membership.sql": (
        f"CREATE ROLE {PROBE} NOLOGIN;\n"
        f"GRANT gordon_api TO {PROBE};\n"
        f"GRANT pg_read_all_data TO {PROBE};\n"
    ),
    "0047_drop_guard_cascade.sql": "DROP FUNCTION trading.risk_state_guard() CASCADE;\n",
    "0048_new_table_granted.sql": (
        "CREATE TABLE trading.run_notes (run_id bigint, note text);\n"
        "GRANT SELECT ON trading.run_notes TO gordon_api, gordon_risk;\n"
        "GRANT SELECT, INSERT ON trading.run_notes TO gordon_trading;\n"
    ),
    "0049_new_table_owned_by_runtime.sql": (
        "CREATE TABLE trading.api_cache (key text);\n"
        "ALTER TABLE trading.api_cache OWNER TO gordon_api;\n"
    ),
    "0050_default_privileges.sql": (
        "ALTER DEFAULT PRIVILEGES IN SCHEMA trading GRANT SELECT ON TABLES TO gordon_api;\n"
    ),
}


@pytest.fixture(scope="module")
def rehearsed(
    gordon_server: TestServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rehearsal]:
    root = tmp_path_factory.mktemp("access_bundle")
    for migration in bundle.load():
        (root / migration.filename).write_bytes(migration.sql.encode("utf-8"))
    for name, text in CHANGES.items():
        (root / name).write_text(text, encoding="utf-8")
    try:
        yield rehearse(bundle.load(root), scratch_server=dsn.parse(gordon_server.admin_dsn))
    finally:
        # Roles are the cluster's: the scratch database is gone, the probe role is not.
        with gordon_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(PROBE)))


@pytest.fixture(scope="module")
def migrator(gordon_server: TestServer) -> str:
    with gordon_server.admin() as conn:
        row = conn.execute("SELECT current_user::text").fetchone()
    assert row is not None
    return str(row[0])


def facts(rehearsal: Rehearsal, version: int) -> MigrationFacts:
    (found,) = [m for m in rehearsal.migrations if m.version == version]
    return found


def texts(changes: tuple[AccessChange, ...]) -> set[str]:
    return {change.text for change in changes}


def test_revoking_a_privilege_a_runtime_role_uses_is_an_error(rehearsed: Rehearsal) -> None:
    (change,) = facts(rehearsed, 39).access
    assert change.text == "revokes DELETE on trading.bot_leases from gordon_bots"
    assert change.error
    assert change.roles == ("gordon_bots",)
    assert change.why == "gordon_bots held it and the service loses it"


def test_granting_to_public_is_an_error(rehearsed: Rehearsal) -> None:
    (change,) = facts(rehearsed, 40).access
    assert change.text == "grants SELECT on trading.fills to PUBLIC"
    assert change.error
    assert "PUBLIC is every role" in change.why


def test_an_owner_changed_to_a_runtime_role_is_an_error(
    rehearsed: Rehearsal, migrator: str
) -> None:
    changes = facts(rehearsed, 41).access
    # The table's identity sequence follows it (ALTER TABLE ... OWNER TO moves what it owns).
    assert texts(changes) == {
        f"changes the owner of trading.order_intents from {migrator} to gordon_api",
        f"changes the owner of trading.order_intents_intent_id_seq from {migrator} to gordon_api",
    }
    assert all(c.error and c.kind == "owner" for c in changes)
    # gordon_api's grants on the table are its owner's now, not a revoke.
    assert all(set(c.roles) == {migrator, "gordon_api"} for c in changes)


def test_enabling_rls_with_no_policy_for_the_readers_is_an_error(rehearsed: Rehearsal) -> None:
    (change,) = facts(rehearsed, 42).access
    assert change.error
    assert change.text.startswith(
        "enables row level security on trading.runs: no policy lets gordon_api read it, "
    )
    assert "gordon_risk read it" in change.text
    assert "gordon_trading insert into it" in change.text
    assert {"gordon_api", "gordon_risk", "gordon_trading"} <= set(change.roles)


def test_enabling_rls_with_a_policy_for_every_reader_is_not_an_error(
    rehearsed: Rehearsal,
) -> None:
    changes = facts(rehearsed, 43).access
    assert errors(changes) == ()
    assert "enables row level security on trading.equity" in texts(changes)
    assert any(t.startswith("creates policy equity_read on trading.equity") for t in texts(changes))


def test_forcing_rls_where_no_policy_lets_the_owner_read_is_an_error(
    rehearsed: Rehearsal, migrator: str
) -> None:
    (change,) = facts(rehearsed, 44).access
    assert change.error
    assert change.text == (
        f"forces row level security on trading.bot_leases: no policy lets its owner {migrator} "
        "read it"
    )


def test_disabling_a_guard_trigger_is_an_error(rehearsed: Rehearsal) -> None:
    (change,) = facts(rehearsed, 45).access
    assert change.text == "disables trigger risk_state_no_delete on trading.risk_state"
    assert change.error


def test_a_membership_in_a_runtime_or_predefined_role_is_an_error(rehearsed: Rehearsal) -> None:
    changes = facts(rehearsed, 46).access
    assert texts(changes) == {
        f"grants membership in gordon_api to {PROBE}",
        f"grants membership in pg_read_all_data to {PROBE}",
    }
    assert all(change.error for change in changes)


def test_drop_function_cascade_lists_the_triggers_it_dropped(rehearsed: Rehearsal) -> None:
    migration = facts(rehearsed, 47)
    (statement,) = migration.statements
    assert {
        "function trading.risk_state_guard()",
        "trigger risk_state_no_delete on table trading.risk_state",
        "trigger risk_state_no_truncate on table trading.risk_state",
    } <= set(statement.dropped)
    dropped = {c.text for c in errors(migration.access)}
    assert dropped == {
        "drops trigger risk_state_no_delete on trading.risk_state",
        "drops trigger risk_state_no_truncate on trading.risk_state",
    }


def test_a_new_table_granted_to_roles_that_have_access_is_info(rehearsed: Rehearsal) -> None:
    changes = facts(rehearsed, 48).access
    assert errors(changes) == ()
    assert texts(changes) == {
        "grants SELECT on new trading.run_notes to gordon_api, gordon_risk",
        "grants INSERT, SELECT on new trading.run_notes to gordon_trading",
    }


def test_a_new_table_owned_by_a_runtime_role_is_an_error(rehearsed: Rehearsal) -> None:
    (change,) = facts(rehearsed, 49).access
    assert change.text == "creates table trading.api_cache owned by gordon_api"
    assert change.error


def test_default_privileges_to_a_runtime_role_are_an_error(
    rehearsed: Rehearsal, migrator: str
) -> None:
    (change,) = facts(rehearsed, 50).access
    assert change.text == (
        f"makes new tables {migrator} creates in schema trading grant SELECT to gordon_api"
    )
    assert change.error


def test_the_bundle_from_empty_has_only_the_grandfathered_errors(rehearsed: Rehearsal) -> None:
    found = sorted(
        f"{m.version:04d}\t{change.text}"
        for m in rehearsed.migrations
        if m.version <= 38
        for change in errors(m.access)
    )
    pinned = [
        line
        for line in GRANDFATHERED.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert found == sorted(pinned)


def test_rehearse_shows_the_access_delta_in_text_and_json(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle, gordon_template: str
) -> None:
    # gordon_template: the bundle applied once on this server, so its roles exist.
    schema = f"access_{secrets.token_hex(3)}"
    root = bundle_dir(
        {
            "0001_base.sql": (
                f"CREATE SCHEMA {schema};\nCREATE TABLE {schema}.leases (id int);\n"
                f"GRANT USAGE ON SCHEMA {schema} TO gordon_bots;\n"
                f"GRANT SELECT, DELETE ON {schema}.leases TO gordon_bots;\n"
            ),
            "0002_revoke.sql": f"REVOKE DELETE ON {schema}.leases FROM gordon_bots;\n",
        }
    )
    args = ("rehearse", "--scratch-url", gordon_server.admin_dsn, "--migrations-dir", str(root))
    text = cli(*args)
    assert text.code == 0, text.err
    assert (
        f"  access:\n    ERROR revokes DELETE on {schema}.leases from gordon_bots "
        "(gordon_bots held it and the service loses it)\n"
    ) in text.out
    shown = cli(*args, "--format", "json")
    assert shown.code == 0, shown.err
    payload = json.loads(shown.out)
    assert payload["migrations"][1]["access"] == [
        {
            "kind": "privilege",
            "object": f"{schema}.leases",
            "text": f"revokes DELETE on {schema}.leases from gordon_bots",
            "severity": "error",
            "why": "gordon_bots held it and the service loses it",
            "roles": ["gordon_bots"],
        }
    ]
    # Only the scratch saw the migrations; it is gone.
    with psycopg.connect(gordon_server.admin_dsn, autocommit=True) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'gordon_rehearse%%'"
            " AND datname NOT LIKE 'gordon_rehearse_tpl_%%'"
        ).fetchone()
        assert left == (0,)
