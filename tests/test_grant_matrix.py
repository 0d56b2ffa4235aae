"""The grant matrix (``gordon_migrate.drift.grant_matrix``): drift-check's grant lines as a grid."""

from __future__ import annotations

import json
from pathlib import Path

from gordon_migrate.core import dsn
from gordon_migrate.drift import build_fixtures
from gordon_migrate.drift import fixtures as drift_fixtures
from gordon_migrate.drift.grant_matrix import NOBODY, Cell, grant_matrices, matrix
from gordon_migrate.drift.model import Line
from gordon_migrate.drift.render import LEGEND, LETTERS, letters
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner


def test_letters_are_psql_acl_letters() -> None:
    assert letters("INSERT, SELECT") == "ar"
    assert letters("ALL") == "ALL"
    assert letters("SELECT WITH GRANT OPTION") == "r*"
    assert letters("SELECT GRANTED BY gordon_x") == "r+"
    assert letters("DELETE, SELECT; UPDATE WITH GRANT OPTION") == "rd/w*"
    assert letters("EXECUTE") == "X"
    assert letters("CREATE, USAGE") == "UC"
    assert letters(None) == "-"
    assert letters("none for anyone") == "none for anyone"


def test_matrix_lays_lines_out_by_object_and_role() -> None:
    expected = [
        Line("grant on table t.a to r1", "privileges", "SELECT"),
        Line("grant on table t.a to <migrator>", "privileges", "ALL"),
        Line("grant on table t.b to r2", "privileges", "INSERT"),
        Line("default privileges of x in all schemas on tables", "privileges", "none for anyone"),
        Line("role r1", "superuser", "no"),
    ]
    actual = [
        Line("grant on table t.a to r1", "privileges", "INSERT, SELECT"),
        Line("grant on table t.a to <migrator>", "privileges", "ALL"),
        Line("default privileges of x in all schemas on tables", "privileges", "none for anyone"),
        Line("role r1", "superuser", "yes"),
    ]
    grid = matrix(expected, actual)
    assert grid.objects == (
        "default privileges of x in all schemas on tables",
        "table t.a",
        "table t.b",
    )
    assert grid.roles == ("<migrator>", "r1", "r2", NOBODY)
    assert grid.cell("table t.a", "r1") == Cell("SELECT", "INSERT, SELECT")
    assert grid.cell("table t.b", "r2") == Cell("INSERT", None)
    assert grid.cell("table t.b", "r1") == Cell(None, None)
    assert [(o, r) for o, r, _ in grid.mismatches] == [("table t.a", "r1"), ("table t.b", "r2")]
    assert grid.row_ok("default privileges of x in all schemas on tables")
    assert not grid.row_ok("table t.a")


def test_grant_matrices_of_a_database_against_its_fixtures(
    gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    target = dsn.parse(gordon_db.dsn)
    drift_fixtures.write(build_fixtures(target), tmp_path)
    assert grant_matrices(target, tmp_path).ok
    with gordon_db.connect() as conn:
        conn.execute("GRANT INSERT ON trading.fills TO gordon_api")
        conn.execute("REVOKE SELECT ON trading.fills FROM gordon_risk")
        conn.execute("GRANT UPDATE (fee) ON trading.fills TO gordon_api")
        # Roles belong to the whole server, not to this test's database: put it back at once.
        conn.execute("ALTER ROLE gordon_api BYPASSRLS")
        try:
            found = grant_matrices(target, tmp_path)
        finally:
            conn.execute("ALTER ROLE gordon_api NOBYPASSRLS")
    assert not found.ok
    assert [(o, r, c.expected, c.actual) for o, r, c in found.objects.mismatches] == [
        ("table trading.fills", "gordon_api", "SELECT", "INSERT, SELECT"),
        ("table trading.fills", "gordon_risk", "SELECT", None),
    ]
    columns = found.columns_of("table trading.fills")
    assert all(o.startswith("column trading.fills.") for o in columns.objects)
    assert [(o, r, c.actual) for o, r, c in columns.mismatches] == [
        ("column trading.fills.fee", "gordon_api", "UPDATE")
    ]
    assert [(d.role, d.facet, d.expected, d.actual) for d in found.role_attributes] == [
        ("gordon_api", "bypassrls", "no", "yes")
    ]


def test_grants_command_shows_the_matrix_and_marks_a_mismatch(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    clean = cli("grants", "--database-url", gordon_db.dsn)
    assert clean.code == 0, clean.err
    assert "grants match the fixtures" in clean.out
    assert "table trading.runs" in clean.out
    with gordon_db.connect() as conn:
        conn.execute("GRANT DELETE ON trading.runs TO gordon_api")
        conn.execute("GRANT SELECT (venue_api_secret) ON trading.bot_configs TO gordon_bots")
    drifted = cli("grants", "--database-url", gordon_db.dsn, "--mismatches")
    assert drifted.code == 1
    rows = drifted.out.splitlines()
    runs = next(r for r in rows if r.startswith("table trading.runs "))
    assert runs.endswith("<-")
    assert "!r" in runs, "gordon_api's cell shows the actual letters, then !expected"
    assert not any(r.startswith("table trading.orders ") for r in rows), "--mismatches only"
    columns = cli(
        "grants",
        "--database-url",
        gordon_db.dsn,
        "--table",
        "trading.bot_configs",
        "--format",
        "json",
    )
    assert columns.code == 1
    report = json.loads(columns.out)
    secret = next(
        r
        for r in report["matrix"]["rows"]
        if r["object"] == "column trading.bot_configs.venue_api_secret"
    )
    assert secret["ok"] is False
    assert secret["cells"]["gordon_bots"] == {"expected": None, "actual": "SELECT"}


def test_the_grants_help_explains_every_letter_a_cell_can_show(cli: CliRunner) -> None:
    # The help is written by hand: a letter added to LETTERS must be explained there too.
    shown = " ".join(cli("grants", "--help").out.split())
    missing = [
        f"{letter} {name}"
        for name, letter in LETTERS.items()
        if name != "TEMP" and f"{letter} {name}" not in shown
    ]
    assert not missing, missing
    assert LEGEND.startswith("r SELECT  a INSERT")
