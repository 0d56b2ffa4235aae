"""A relation missing or unexpected as a whole is one difference: its columns, constraints,
indexes, triggers, rules and policies are its members, not differences of their own."""

from __future__ import annotations

from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.drift import drift, execute, failing, find

ODD = 'trading."odd.t"'  # quoted, with a dot: the parts' names must not be split there


def test_an_unexpected_table_takes_its_parts_with_it(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    execute(
        gordon_db,
        f"""CREATE TABLE {ODD} (id int PRIMARY KEY, "a.b" text CHECK ("a.b" <> ''))""",
        f'CREATE INDEX "odd.i" ON {ODD} ("a.b")',
        f"CREATE TRIGGER odd_guard BEFORE UPDATE ON {ODD} FOR EACH ROW "
        "EXECUTE FUNCTION trading.risk_state_guard()",
        f"CREATE POLICY odd_read ON {ODD} FOR SELECT TO gordon_api USING (true)",
        f"CREATE RULE odd_rule AS ON DELETE TO {ODD} DO INSTEAD NOTHING",
        # Another new table whose name starts like the first one's: its parts stay its own.
        "CREATE TABLE trading.odd (t int)",
        # A new column and index on a pinned table: differences of their own.
        "ALTER TABLE trading.runs ADD COLUMN rogue text",
        "CREATE INDEX runs_rogue_idx ON trading.runs (rogue)",
        "GRANT SELECT ON trading.odd TO gordon_api",
    )
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    schema = {d["object"]: d for d in failing(payload)["schema"]}
    assert set(schema) == {
        f"table {ODD}",
        "table trading.odd",
        "column trading.runs.rogue",
        "index trading.runs_rogue_idx",
    }
    assert schema[f"table {ODD}"]["members"] == [
        f'column {ODD}."a.b"',
        f"column {ODD}.id",
        f'constraint {ODD}."odd.t_a.b_check"',
        f'constraint {ODD}."odd.t_pkey"',
        'index trading."odd.i"',
        'index trading."odd.t_pkey"',
        f"policy {ODD}.odd_read",
        f"rule {ODD}.odd_rule",
        f"trigger {ODD}.odd_guard",
    ]
    assert schema["table trading.odd"]["members"] == ["column trading.odd.t"]
    assert schema["column trading.runs.rogue"]["members"] == []
    # The new table's grants are the grant matrix's (who can read it), still listed there.
    find(payload, "grants", "grant on table trading.odd to gordon_api")
    text = cli("drift-check", "--database-url", gordon_db.dsn_as("gordon_drift_reader")).out
    assert (
        '      with it:  column "a.b", column id, constraint "odd.t_a.b_check", '
        'constraint "odd.t_pkey", index "odd.i", index "odd.t_pkey", policy odd_read, '
        "rule odd_rule, trigger odd_guard"
    ) in text.splitlines()
    assert "unexpected  column trading.odd.t" not in text


def test_a_missing_table_takes_its_parts_and_grants_with_it(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    """Its parts and its grants come back with its migration: the fix script restores none
    of them (a GRANT or CREATE INDEX on a table that is not there would fail the script)."""
    execute(gordon_db, "DROP TABLE trading.bot_leases CASCADE")
    code, payload, _ = drift(cli, gordon_db.dsn)
    assert code == 1
    table = find(payload, "schema", "table trading.bot_leases")
    assert table["kind"] == "missing" and table["fix"] is None
    assert "column trading.bot_leases.worker_id" in table["members"]
    assert "index trading.bot_leases_worker_id_idx" in table["members"]
    assert "policy trading.bot_leases.bot_leases_acquire" in table["members"]
    schema = [d["object"] for d in failing(payload)["schema"]]
    assert [obj for obj in schema if "bot_leases" in obj] == ["table trading.bot_leases"]
    grants = [d for d in failing(payload)["grants"] if "trading.bot_leases" in d["object"]]
    assert grants and all(d["fix"] is None for d in grants)
    assert all("comes back with the missing object" in d["fix_note"] for d in grants)
    script = cli("drift-check", "--database-url", gordon_db.dsn, "--fix-sql").out
    assert "bot_leases" not in script.partition("COMMIT;")[0]


def test_a_new_composite_type_and_domain_take_their_parts_with_them(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    execute(
        gordon_db,
        "CREATE TYPE trading.pair AS (a int, b int)",
        "CREATE DOMAIN trading.positive AS int CONSTRAINT positive_check CHECK (VALUE > 0)",
    )
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    assert {d["object"]: d["members"] for d in failing(payload)["schema"]} == {
        "type trading.pair": ["attribute trading.pair.a", "attribute trading.pair.b"],
        "domain trading.positive": ["domain constraint trading.positive.positive_check"],
    }
