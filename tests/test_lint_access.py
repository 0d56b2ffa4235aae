"""The access contract as lint findings: a pending migration the pinned plan lacks is rehearsed
(``lint --database-url``, ``apply --dry-run``, ``apply``), and each error-level change of its
access delta is an ``access-contract`` finding on the statement naming the object: exit 1,
``apply`` refuses before any lock, unless waived there. Plain ``lint`` has no server: it cannot
see them. Each test is the 38 bundled migrations plus one new file, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg

from gordon_migrate.core import bundle
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner

BUNDLE = bundle.load()
NEXT = f"{len(BUNDLE) + 1:04d}"
REVOKE = "REVOKE DELETE ON trading.bot_leases FROM gordon_bots;\n"
REVOKED = "revokes DELETE on trading.bot_leases from gordon_bots"
RLS = "ALTER TABLE trading.runs ENABLE ROW LEVEL SECURITY;\n"


def _bundle_plus(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    (root / f"{NEXT}_{name}.sql").write_text(text, encoding="utf-8")
    return root


def _access_findings(payload: dict[str, object]) -> list[dict[str, object]]:
    findings = payload["findings"]
    assert isinstance(findings, list)
    return [f for f in findings if f["rule"] == "access-contract"]


def _history_rows(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM _sqlx_migrations").fetchone()
    assert row is not None
    return int(row[0])


def _row_security(dsn: str, table: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", (table,)
        ).fetchone()
    assert row is not None
    return bool(row[0])


def test_a_revoke_from_a_runtime_role_fails_lint_with_a_server_and_a_waiver_passes_it(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    comment = "-- the bots keep their leases\n"
    root = _bundle_plus(tmp_path, "revoke", comment + REVOKE)
    args = ("lint", "--migrations-dir", str(root))
    found = cli(*args, "--database-url", gordon_db.dsn)
    assert found.code == 1, found.err
    # On the REVOKE (line 2, after the comment), with the change's words and why.
    where = f"{NEXT}_revoke.sql:2:1  access-contract  error  {REVOKED}: gordon_bots held it"
    assert where in found.out, found.out
    payload = json.loads(cli(*args, "--database-url", gordon_db.dsn, "--format", "json").out)
    (finding,) = _access_findings(payload)
    assert finding["line"] == 2 and finding["severity"] == "error"
    (plan,) = payload["plans"]
    assert [c["text"] for c in plan["access"] if c["severity"] == "error"] == [REVOKED]
    # No server, no rehearsal: plain lint cannot see it.
    static = cli(*args)
    assert static.code == 0, static.out
    assert "access-contract" not in static.out

    waiver = "-- gordon:allow access-contract the bots stopped deleting leases in release 52\n"
    (root / f"{NEXT}_revoke.sql").write_text(waiver + REVOKE, encoding="utf-8")
    waived = cli(*args, "--database-url", gordon_db.dsn, "--format", "json")
    assert waived.code == 0, waived.out
    (finding,) = _access_findings(json.loads(waived.out))
    assert finding["waived"] is True and finding["line"] == 2


def test_rls_without_a_policy_fails_the_dry_run_and_apply_refuses_it_before_any_change(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    root = _bundle_plus(tmp_path, "rls", RLS)
    target = ("--database-url", gordon_db.dsn, "--migrations-dir", str(root))
    rows = _history_rows(gordon_db.dsn)
    dry = cli("apply", "--dry-run", "--format", "json", *target)
    assert dry.code == 1, dry.err
    payload = json.loads(dry.out)
    assert payload["ok"] is False
    (plan,) = payload["plans"]
    assert plan["provenance"]["kind"] == "rehearsed"
    (change,) = [c for c in plan["access"] if c["severity"] == "error"]
    assert change["kind"] == "row level security" and change["object"] == "trading.runs"
    assert change["text"].startswith("enables row level security on trading.runs")
    (refusal,) = payload["lock_plan"]["refusals"]
    assert refusal["rule"] == "access-contract" and refusal["line"] == 1
    text = cli("apply", "--dry-run", *target)
    assert text.code == 1
    assert f"    access ERROR: {change['text']} ({change['why']})" in text.out, text.out
    assert f"apply would refuse: {NEXT}_rls.sql:1:1  access-contract  " in text.out

    refused = cli("apply", *target)
    assert refused.code == 1, refused.out
    line = refused.error_line
    assert line.startswith(f"migration {NEXT}_rls.sql line 1: access-contract: enables row"), line
    assert "Nothing was run" in line and "-- gordon:allow access-contract <reason>" in line
    assert _history_rows(gordon_db.dsn) == rows
    assert _row_security(gordon_db.dsn, "trading.runs") is False


def test_a_new_table_granted_as_the_matrix_says_is_no_finding(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    root = _bundle_plus(
        tmp_path,
        "run_notes",
        "CREATE TABLE trading.run_notes (run_id bigint, note text);\n"
        "GRANT SELECT ON trading.run_notes TO gordon_api, gordon_risk;\n"
        "GRANT SELECT, INSERT ON trading.run_notes TO gordon_trading;\n",
    )
    target = ("--database-url", gordon_db.dsn, "--migrations-dir", str(root))
    found = cli("lint", "--format", "json", *target)
    payload = json.loads(found.out)
    assert _access_findings(payload) == []
    (plan,) = payload["plans"]
    assert {c["severity"] for c in plan["access"]} == {"info"}
    assert "grants SELECT on new trading.run_notes to gordon_api, gordon_risk" in {
        c["text"] for c in plan["access"]
    }
    dry = cli("apply", "--dry-run", "--format", "json", *target)
    assert json.loads(dry.out)["lock_plan"]["refusals"] == []


def test_hidden_ddl_is_judged_by_what_rehearsal_saw_it_lock(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """Statically a warning (lint cannot see inside the DO block); rehearsed, the ACCESS
    EXCLUSIVE it took on an existing table makes it an error, and one that only creates a new
    table stays a warning that says so."""
    root = _bundle_plus(
        tmp_path,
        "hidden",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE trading.fills ADD COLUMN ' || 'note text'; END $$;\n",
    )
    args = ("lint", "--migrations-dir", str(root))
    static = cli(*args)
    assert static.code == 0, static.out
    assert f"{NEXT}_hidden.sql:1:1  hidden-ddl  warning  DDL in a DO block" in static.out
    found = cli(*args, "--database-url", gordon_db.dsn)
    assert found.code == 1, found.out
    line = next(x for x in found.out.splitlines() if "hidden-ddl" in x)
    assert line.startswith(f"{NEXT}_hidden.sql:1:1  hidden-ddl  error  DDL in a DO block"), line
    assert "rehearsal saw it take ACCESS EXCLUSIVE on trading.fills" in line

    (root / f"{NEXT}_hidden.sql").write_text(
        "DO $$ BEGIN EXECUTE 'CREATE TABLE trading.scratch_' || 'notes (id bigint)'; END $$;\n"
        "REVOKE ALL ON trading.scratch_notes FROM PUBLIC;\n",
        encoding="utf-8",
    )
    new = cli(*args, "--database-url", gordon_db.dsn, "--format", "json")
    (finding,) = [f for f in json.loads(new.out)["findings"] if f["rule"] == "hidden-ddl"]
    assert finding["severity"] == "warning"
    assert "rehearsal saw it take no lock on an existing relation" in finding["message"]
