"""Static rules for what empties, moves or renumbers live data (truncate, set-schema,
sequence-restart, large-delete), through `gordon-migrate lint` and against a real server: the
hazard each names is provoked on a clone, and the catalog facts the rules read (what a TRUNCATE
CASCADE reaches, a table's primary key) are asked of the server, not assumed."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.core import bundle
from gordon_migrate.lint.analyze import Catalog, FileLinter
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner


def _write(tmp_path: Path, name: str, sql: str) -> Path:
    path = tmp_path / name
    path.write_bytes(sql.encode())
    return path


def _findings(cli: CliRunner, path: Path, *extra: str) -> tuple[int, list[dict[str, object]]]:
    result = cli("lint", "--format", "json", *extra, str(path))
    findings: list[dict[str, object]] = json.loads(result.out)["findings"]
    return result.code, findings


def _bundle_catalog() -> Catalog:
    catalog = Catalog()
    for migration in bundle.load():
        FileLinter(migration, catalog, None, frozenset()).run()
    return catalog


def _grow_risk_events(gordon_db: GordonDatabase, rows: int) -> None:
    with gordon_db.connect() as conn:
        # the notify trigger would queue one notification per row
        conn.execute("ALTER TABLE trading.risk_events DISABLE TRIGGER USER")
        conn.execute(
            "INSERT INTO trading.risk_events (kind, severity, occurred_at) "
            "SELECT 'manual', 'info', now() - interval '1 year' "
            f"FROM generate_series(1, {rows})"
        )
        conn.execute("ANALYZE trading.risk_events")


PURGE = "DELETE FROM trading.risk_events WHERE occurred_at < now() - interval '90 days';\n"


def test_a_range_delete_is_an_error_on_a_large_table_and_a_warning_on_a_small_one(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    path = _write(tmp_path, "0039_purge.sql", PURGE)
    _grow_risk_events(gordon_db, 100)
    code, small = _findings(cli, path, "--database-url", gordon_db.dsn)
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in small] == [("large-delete", "warning")]
    _grow_risk_events(gordon_db, 12000)
    result = cli("lint", "--database-url", gordon_db.dsn, str(path))
    assert result.code == 1, result.out
    assert "large-delete  error  DELETE from trading.risk_events WHERE ..." in result.out
    assert "~12100 rows" in result.out
    assert "LIMIT 5000" in result.out
    # lint only read: every row is still there
    with gordon_db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM trading.risk_events").fetchone()
    assert row == (12100,)


def test_a_delete_that_pins_the_key_or_batches_is_not_large(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "0039_fix.sql",
        "DELETE FROM trading.risk_events WHERE event_id = 42;\n"
        "DELETE FROM trading.venue_balances WHERE venue = 'kraken' AND venue_account = 'main'"
        " AND asset = 'BTC' AND captured_at = now();\n"
        "DELETE FROM trading.risk_events WHERE event_id IN (SELECT event_id FROM"
        " trading.risk_events WHERE occurred_at < now() - interval '90 days' LIMIT 5000);\n"
        # part of a composite key is no bound
        "DELETE FROM trading.venue_balances WHERE venue = 'kraken';\n"
        # every row: unbatched-dml's alone
        "DELETE FROM trading.risk_events;\n",
    )
    code, findings = _findings(cli, path)
    assert code == 1
    assert [(f["rule"], f["line"]) for f in findings] == [
        ("large-delete", 4),
        ("unbatched-dml", 5),
    ]


def test_the_primary_keys_lint_reads_are_the_servers(gordon_db: GordonDatabase) -> None:
    """large-delete's bound is the primary key as the bundle declares it."""
    with gordon_db.connect() as conn:
        rows = conn.execute(
            "SELECT n.nspname || '.' || c.relname,"
            " array_agg(a.attname::text ORDER BY k.ord)"
            " FROM pg_catalog.pg_index i"
            " JOIN pg_catalog.pg_class c ON c.oid = i.indrelid"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)"
            " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
            # every schema of the bundle; public holds only the migration history
            " WHERE i.indisprimary AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'public')"
            " GROUP BY 1"
        ).fetchall()
    server = {table: tuple(columns) for table, columns in rows}
    assert server
    assert _bundle_catalog().primary_keys == server


@pytest.mark.parametrize("table", ["trading.bot_configs", "market_data.instruments"])
def test_truncate_cascade_names_what_the_server_empties(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase, table: str
) -> None:
    notices: list[str] = []
    with gordon_db.connect() as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        with conn.transaction(force_rollback=True):
            conn.execute(f"TRUNCATE {table} CASCADE")
    prefix = 'truncate cascades to table "'
    server = {n.removeprefix(prefix).rstrip('"') for n in notices if n.startswith(prefix)}
    assert server
    reached = _bundle_catalog().referencing([table])
    assert {r.split(".", 1)[1] for r in reached} == server
    path = _write(tmp_path, "0039_reset.sql", f"TRUNCATE {table} CASCADE;\n")
    # not scaled: the tables are empty on this clone and it is still an error
    code, findings = _findings(cli, path, "--database-url", gordon_db.dsn)
    assert code == 1
    assert [(f["rule"], f["severity"]) for f in findings] == [("truncate", "error")]
    message = str(findings[0]["message"])
    assert message.startswith(f"TRUNCATE empties {table}; CASCADE also empties ")
    assert set(message.split("CASCADE also empties ", 1)[1].split(", ")) == set(reached)


def test_an_identity_restart_collides_with_live_keys_and_a_waiver_says_why(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    restart = "ALTER TABLE trading.risk_events ALTER COLUMN event_id RESTART WITH 1;\n"
    _grow_risk_events(gordon_db, 3)
    with gordon_db.connect() as conn:
        conn.execute(restart)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO trading.risk_events (kind, severity) VALUES ('manual', 'info')"
            )
        row = conn.execute("SELECT count(*) FROM trading.risk_events").fetchone()
    assert row == (3,)
    path = _write(tmp_path, "0039_restart.sql", restart)
    result = cli("lint", "--database-url", gordon_db.dsn, str(path))
    assert result.code == 1, result.out
    assert "sequence-restart  error  RESTART WITH 1 of the identity trading.risk_events" in (
        result.out
    )
    assert "above max() of the column" in result.out
    waived = _write(
        tmp_path,
        "0039_restart_waived.sql",
        "-- gordon:allow sequence-restart max(event_id) is 812 on every target, checked\n"
        + restart.replace("WITH 1", "WITH 1000000"),
    )
    code, findings = _findings(cli, waived)
    assert code == 0
    assert [(f["rule"], f["waived"]) for f in findings] == [("sequence-restart", True)]


def test_set_schema_breaks_the_old_name_on_the_server(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    moved = "ALTER TABLE trading.venue_balances SET SCHEMA market_data;\n"
    path = _write(tmp_path, "0039_move.sql", moved)
    result = cli("lint", str(path))
    assert result.code == 1, result.out
    assert (
        "set-schema  error  TABLE trading.venue_balances moves to schema market_data: every "
        "query naming trading.venue_balances fails once it commits"
    ) in result.out
    with gordon_db.connect() as conn:
        conn.execute(moved)
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT count(*) FROM trading.venue_balances")
