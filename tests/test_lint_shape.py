"""Transaction-shape rules (backfill-under-lock, timeout-override, hidden-ddl) and the hardened
SECURITY DEFINER pattern, through `gordon-migrate lint` and against a real server: the facts
the rules rest on (how the server reads a timeout, what GRANT locks, what the hardened
pattern leaves callable) are asked of it, not assumed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gordon_migrate.apply import options
from gordon_migrate.core.durations import parse_ms
from gordon_migrate.lint import locks
from gordon_migrate.lint.rules import timeout_override
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


BACKFILL = (
    "ALTER TABLE trading.risk_audit ADD COLUMN reviewed boolean;\n"
    "UPDATE trading.risk_audit SET reviewed = false WHERE actor = 'ops';\n"
)


def test_backfill_under_a_held_lock_is_an_error_on_a_large_table(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    path = _write(tmp_path, "0039_backfill.sql", BACKFILL)
    code, small = _findings(cli, path, "--database-url", gordon_db.dsn)
    assert code == 0
    assert [(f["rule"], f["severity"], f["line"]) for f in small] == [
        ("backfill-under-lock", "warning", 2)
    ]
    with gordon_db.connect() as conn:
        conn.execute("ALTER TABLE trading.risk_audit DISABLE TRIGGER USER")
        conn.execute(
            "INSERT INTO trading.risk_audit (actor, action, reason) "
            "SELECT 'ops', 'config_changed', 'load ' || g FROM generate_series(1, 12000) g"
        )
        conn.execute("ANALYZE trading.risk_audit")
    result = cli("lint", "--database-url", gordon_db.dsn, str(path))
    assert result.code == 1, result.out
    assert "backfill-under-lock  error" in result.out
    assert "ACCESS EXCLUSIVE lock of ALTER TABLE ADD COLUMN (line 1) is held" in result.out
    assert "~12000 rows" in result.out
    # lint only read: the table is as it was
    with gordon_db.connect() as conn:
        row = conn.execute(
            "SELECT count(*), bool_or(a.attname IS NOT NULL) FROM trading.risk_audit "
            "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = 'trading.risk_audit'::regclass "
            "AND a.attname = 'reviewed'"
        ).fetchone()
    assert row == (12000, False)


def test_backfill_in_a_no_transaction_migration_is_not_under_the_lock(
    cli: CliRunner, tmp_path: Path
) -> None:
    sql = "-- no-transaction\n" + BACKFILL.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS")
    _, findings = _findings(cli, _write(tmp_path, "0039_backfill.sql", sql))
    assert "backfill-under-lock" not in {f["rule"] for f in findings}
    assert "unbatched-dml" not in {f["rule"] for f in findings}


def test_timeout_defaults_are_applys() -> None:
    assert timeout_override.LOCK_TIMEOUT_MS == options.DEFAULT_LOCK_TIMEOUT_MS
    assert timeout_override.STATEMENT_TIMEOUT_MS == options.DEFAULT_STATEMENT_TIMEOUT_MS
    idle = options.SESSION_SAFETY["idle_in_transaction_session_timeout"]
    assert parse_ms(idle, "idle") == timeout_override.IDLE_IN_TRANSACTION_MS


@pytest.mark.parametrize(
    "value", ["0", "250", "'100ms'", "'2s'", "'1.5s'", "' 3 min '", "'1h'", "'1d'", "'2500us'"]
)
def test_lint_reads_a_timeout_as_the_server_does(gordon_db: GordonDatabase, value: str) -> None:
    with gordon_db.connect() as conn, conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = {value}")
        row = conn.execute(
            "SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'lock_timeout'"
        ).fetchone()
    assert row is not None
    assert parse_ms(value.strip("'"), "lock_timeout") == row[0]


def test_a_timeout_lifted_in_the_migration_fails_lint_naming_the_directive(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "0039_timeout.sql",
        "SET LOCAL lock_timeout = 0;\nALTER TABLE trading.runs ADD COLUMN notes text;\n",
    )
    result = cli("lint", str(path))
    assert result.code == 1, result.out
    assert "timeout-override  error" in result.out
    assert "SET LOCAL lock_timeout = 0 disables it" in result.out
    assert "`-- gordon:lock-timeout <duration>`" in result.out
    # one finding per statement: session-setting-leak does not repeat a session-level one
    session = _write(tmp_path, "0039_session.sql", "SET statement_timeout = '2h';\n")
    code, findings = _findings(cli, session)
    assert code == 1
    assert [f["rule"] for f in findings] == ["timeout-override"]
    assert "leaks into the later migrations" in str(findings[0]["message"])


def test_grant_takes_no_lock_that_stops_writes(gordon_db: GordonDatabase) -> None:
    """Why hidden-ddl does not count a GRANT in a DO block (the bundle's 0008, 0017)."""
    with gordon_db.connect() as conn, conn.transaction():
        conn.execute("GRANT SELECT ON trading.fills TO gordon_api")
        modes = [
            r[0]
            for r in conn.execute(
                "SELECT mode FROM pg_catalog.pg_locks WHERE pid = pg_backend_pid() "
                "AND relation = 'trading.fills'::regclass"
            )
        ]
        conn.execute("ROLLBACK")
    assert not any(locks.conflicts(m, "RowExclusiveLock") for m in modes), modes


def test_ddl_in_a_do_block_is_a_warning(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "0039_do.sql",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE trading.runs ADD COLUMN ' || 'notes text'; END $$;\n",
    )
    result = cli("lint", str(path))
    assert result.code == 0, result.out
    assert "hidden-ddl  warning" in result.out
    assert "lint cannot see what it does; `gordon-migrate rehearse` shows its locks" in result.out


HARDENED = (
    "CREATE FUNCTION trading.halt_all(p_reason text) RETURNS void\n"
    "    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog\n"
    "AS $$ UPDATE trading.risk_state SET halted_until = now() + interval '1 hour'\n"
    "      WHERE p_reason IS NOT NULL $$;\n"
    "REVOKE EXECUTE ON FUNCTION trading.halt_all(text) FROM PUBLIC;\n"
    "GRANT EXECUTE ON FUNCTION trading.halt_all(text) TO gordon_risk;\n"
)


def test_the_hardened_security_definer_pattern_passes_and_holds_on_the_server(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    path = _write(tmp_path, "0039_definer.sql", HARDENED)
    code, findings = _findings(cli, path)
    assert code == 0, findings
    assert [f["rule"] for f in findings] == []
    with gordon_db.connect() as conn:
        with conn.transaction():
            conn.execute(HARDENED)
        row = conn.execute(
            "SELECT has_function_privilege('gordon_api', 'trading.halt_all(text)', 'EXECUTE'),"
            " has_function_privilege('gordon_risk', 'trading.halt_all(text)', 'EXECUTE'),"
            " p.proconfig FROM pg_catalog.pg_proc p"
            " WHERE p.oid = 'trading.halt_all(text)'::regprocedure"
        ).fetchone()
    assert row == (False, True, ["search_path=pg_catalog"])


def test_an_unhardened_security_definer_says_what_is_missing(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    unhardened = HARDENED.replace(" SET search_path = pg_catalog", "").split("REVOKE")[0]
    path = _write(tmp_path, "0039_definer.sql", unhardened)
    result = cli("lint", str(path))
    assert result.code == 1, result.out
    assert "security-definer  error" in result.out
    assert "no SET search_path" in result.out
    assert "GRANT EXECUTE ON FUNCTION trading.halt_all TO the role that calls it" in result.out
    # 0008's ALTER DEFAULT PRIVILEGES already keeps new functions from PUBLIC: not asked again
    assert "left to PUBLIC" not in result.out
    with gordon_db.connect() as conn:
        with conn.transaction():
            conn.execute(unhardened)
        row = conn.execute(
            "SELECT has_function_privilege('gordon_api', 'trading.halt_all(text)', 'EXECUTE'),"
            " p.proconfig FROM pg_catalog.pg_proc p"
            " WHERE p.oid = 'trading.halt_all(text)'::regprocedure"
        ).fetchone()
    assert row == (False, None)


def test_execute_given_back_to_public_is_an_error(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "0039_definer.sql",
        HARDENED + "GRANT EXECUTE ON FUNCTION trading.halt_all(text) TO PUBLIC;\n",
    )
    result = cli("lint", str(path))
    assert result.code == 1, result.out
    assert "SECURITY DEFINER function trading.halt_all: EXECUTE is left to PUBLIC" in result.out
