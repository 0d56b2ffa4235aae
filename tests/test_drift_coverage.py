"""Complete by construction, to the column: every column of every covered catalog (and of the
views read instead) is compared or ignored with a reason, every predefined role is decided,
and what cannot be checked is never a pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gordon_migrate.drift import catalogs, fixtures
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.drift import drift, failing, find

_SERVER_COLUMNS = """
SELECT c.relname::text, array_agg(a.attname::text)
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relname = ANY(%s)
  AND a.attnum > 0 AND NOT a.attisdropped
GROUP BY 1
"""


def _server_columns(db: GordonDatabase) -> dict[str, set[str]]:
    with db.connect() as conn:
        rows = conn.execute(_SERVER_COLUMNS, (list(catalogs.MAPPED),)).fetchall()
    return {str(relation): set(columns) for relation, columns in rows}


def test_every_column_of_every_covered_catalog_is_compared_or_ignored_with_a_reason(
    gordon_db: GordonDatabase,
) -> None:
    """A column a new PostgreSQL major adds to a covered catalog fails here until
    drift/catalogs.py says what it means for drift."""
    covered = {name for name, entry in catalogs.CATALOGS.items() if entry.how != "ignored"}
    assert set(catalogs.COLUMNS) == covered
    server = _server_columns(gordon_db)
    assert set(server) == set(catalogs.MAPPED), "every mapped relation exists on this server"
    assert catalogs.unmapped_columns(server) == []
    for relation, columns in (catalogs.COLUMNS | catalogs.VIEWS).items():
        for column, decision in columns.items():
            verdict, _, why = decision.partition(": ")
            assert verdict in ("compared", "ignored"), f"{relation}.{column}: {decision!r}"
            assert len(why) > 10, f"{relation}.{column}: say where it is compared, or why not"


def test_what_the_map_leaves_to_unpinned_objects_is_pinned_nowhere() -> None:
    """Ignoring the attributes of what the migrations never create holds while none is pinned."""
    lines = fixtures.load().sections["schema"]
    for catalog, (prefix, facet) in catalogs.UNPINNED.items():
        found = [
            line
            for line in lines
            if line.object.startswith(prefix)
            and (not facet or line.facet == facet)
            and (catalog != "pg_type" or line.value == "base")
        ]
        assert found == [], f"{catalog}: its attributes must be compared now"


def test_every_predefined_role_is_decided(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        predefined = {
            str(r[0])
            for r in conn.execute(
                "SELECT rolname FROM pg_roles WHERE oid < 16384 AND rolname LIKE 'pg\\_%'"
            ).fetchall()
        }
    assert sorted(predefined - catalogs.PREDEFINED_ROLES.keys()) == []
    for name, decision in catalogs.PREDEFINED_ROLES.items():
        assert decision.startswith(("drift: ", "not drift: ")), name


def test_a_catalog_column_the_map_does_not_name_is_not_a_pass(
    cli: CliRunner, gordon_db: GordonDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a major newer than this gordon-migrate: the column is named, exit 1."""
    monkeypatch.delitem(catalogs.COLUMNS["pg_class"], "relrowsecurity")
    code, payload, err = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    assert payload["ok"] is False
    assert failing(payload) == {}
    assert payload["unchecked"] == [
        "catalog column pg_class.relrowsecurity: drift-check's column map "
        "(drift/catalogs.py) does not say what it means for drift, so it was not checked: "
        "this PostgreSQL is newer than this gordon-migrate; upgrade it"
    ]
    text = cli("drift-check", "--database-url", gordon_db.dsn_as("gordon_drift_reader"))
    assert text.code == 1
    assert "CANNOT CHECK: catalog column pg_class.relrowsecurity" in text.out
    assert "NOT CLEAN: part of the database could not be checked" in text.out
    assert "cannot check: catalog column pg_class.relrowsecurity" in err


def test_a_server_major_without_pinned_builtins_is_not_a_pass(
    cli: CliRunner, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    """Everything else is still compared; the built-ins that need a pin are named unchecked."""
    for path in fixtures.bundled_dir().iterdir():
        if not path.name.startswith("builtins."):
            shutil.copy(path, tmp_path / path.name)
    reader = gordon_db.dsn_as("gordon_drift_reader")
    code, payload, _ = drift(cli, reader, "--fixtures-dir", str(tmp_path))
    assert code == 1
    major = payload["server_version"].split(".")[0]
    [sentence] = payload["unchecked"]
    assert sentence.startswith(
        f"PostgreSQL {major}'s own functions and information_schema privileges: no "
        f"builtins.pg{major}.txt in {tmp_path} (pinned majors: none), so they were not checked"
    )
    assert failing(payload) == {}


def test_a_role_the_reader_cannot_see_is_not_a_pass(
    cli: CliRunner, gordon_db: GordonDatabase
) -> None:
    """A privilege held by a role OID that pg_roles does not hold (its row deleted by a
    superuser): whose privilege it is cannot be checked, said in one line, exit 1."""
    with gordon_db.connect() as conn:
        conn.execute("CREATE ROLE drift_vanishing")
        conn.execute("GRANT SELECT ON trading.runs TO drift_vanishing")
        row = conn.execute("SELECT 'drift_vanishing'::regrole::oid").fetchone()
        assert row is not None
        conn.execute("DELETE FROM pg_authid WHERE rolname = 'drift_vanishing'")
    obj = f"grant on table trading.runs to unknown (OID={row[0]})"
    code, payload, _ = drift(cli, gordon_db.dsn_as("gordon_drift_reader"))
    assert code == 1
    assert payload["unchecked"] == [
        f"{obj}: names a role that does not exist or that gordon_drift_reader cannot see, so "
        "whose privileges these are cannot be checked: find the role (pg_shdepend), then grant "
        "the privileges again to the right one or revoke them"
    ]
    assert find(payload, "grants", obj)["kind"] == "unexpected"


def test_each_pinned_major_digests_its_functions_as_the_server_does() -> None:
    """The digest of every function (what drift-check compares first, on the server) is the
    digest of the function-by-function lines of the same file (named when it differs)."""
    from gordon_migrate.drift.snapshot import ALL_BUILTIN_FUNCTIONS, function_digest

    pinned = fixtures.load()
    assert set(pinned.builtin_files) >= {15, 16, 18}
    for major, digest in pinned.builtin_digests().items():
        lines = pinned.builtins(major) or ()
        functions = [
            (line.object.removeprefix("built-in: function "), line.value)
            for line in lines
            if line.facet == "digest" and line.object != ALL_BUILTIN_FUNCTIONS
        ]
        assert len(functions) > 3000, major
        assert function_digest(functions) == digest, major
