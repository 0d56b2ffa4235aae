"""A pending migration the pinned lock plan lacks (a ``--migrations-dir`` bundle, a file edited
since pinning) is rehearsed on the fly by ``apply --dry-run``, ``lint --database-url`` and
``apply`` itself, before any lock on the target; a pinned one never is. A migration that fails
on the scratch is refused before the migration lock; no scratch is one line, exit 1, unless
``--static-plan`` asks for lint's guess, which every output then marks as guessed."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.apply.plan import read_plan
from gordon_migrate.apply.resolve import OnTheFly
from gordon_migrate.core import bundle, dsn
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support.cli import Bundle, CliRunner

BUNDLE = bundle.load()
NEXT = f"{len(BUNDLE) + 1:04d}"
BASE = "CREATE TABLE public.fly (id bigint PRIMARY KEY, n int NOT NULL);\n"
CHANGE = "ALTER TABLE public.fly ADD CONSTRAINT fly_n_positive CHECK (n > 0) NOT VALID;\n"
# A port nothing listens on (the discard port): the scratch cannot be reached.
NO_SCRATCH = "postgresql://gordon@127.0.0.1:9/postgres?connect_timeout=2"


def _history(dsn_: str) -> list[tuple[int, bool]]:
    with psycopg.connect(dsn_) as conn:
        exists = conn.execute("SELECT to_regclass('public._sqlx_migrations')").fetchone()
        if exists is None or exists[0] is None:
            return []
        rows = conn.execute("SELECT version, success FROM _sqlx_migrations ORDER BY 1").fetchall()
    return [(int(v), bool(s)) for v, s in rows]


def _kinds(payload: dict[str, object]) -> dict[str, str]:
    plans = payload["plans"]
    assert isinstance(plans, list)
    return {str(p["file"]): str(p["provenance"]["kind"]) for p in plans}


def test_dry_run_rehearses_the_new_file_only_and_says_so(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase, gordon_server: TestServer
) -> None:
    """The bundle plus one new file, on a database with the bundle applied: only the new file
    is pending, rehearsed on the scratch on top of the 38 (replayed, not measured)."""
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    (root / f"{NEXT}_fly.sql").write_text(BASE + CHANGE)
    args = ("apply", "--dry-run", "--database-url", gordon_db.dsn, "--migrations-dir", str(root))
    text = cli(*args)
    assert text.code == 0, text.err
    assert "plan of each pending migration:" in text.out
    words = f"{NEXT}_fly.sql: rehearsed just now on PostgreSQL {gordon_server.version} in "
    assert words in text.out
    payload = json.loads(cli(*args, "--format", "json").out)
    assert payload["plan"] == "measured"
    assert isinstance(payload["rehearsal_ms"], float) and payload["rehearsal_ms"] > 0
    assert _kinds(payload) == {f"{NEXT}_fly.sql": "rehearsed"}
    assert _history(gordon_db.dsn) == [(m.version, True) for m in BUNDLE], "only read"


def test_pinned_migrations_are_never_rehearsed(
    cli: CliRunner, tmp_path: Path, gordon_empty_db: GordonDatabase, gordon_server: TestServer
) -> None:
    """On an empty database the whole bundle is pending: the bundled files come from the
    pinned plan, only the new one is rehearsed; with the scratch unreachable the bundled
    files alone need none (no rehearsal was even tried)."""
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    (root / f"{NEXT}_fly.sql").write_text(BASE)
    target = ("--database-url", gordon_empty_db.dsn)
    payload = json.loads(
        cli("apply", "--dry-run", "--format", "json", *target, "--migrations-dir", str(root)).out
    )
    kinds = _kinds(payload)
    assert kinds.pop(f"{NEXT}_fly.sql") == "rehearsed"
    assert set(kinds.values()) == {"pinned"} and len(kinds) == len(BUNDLE)
    pinned = payload["plans"][0]["provenance"]
    assert pinned["words"].startswith("measured on PostgreSQL ") and pinned["ms"] is None
    alone = cli("apply", "--dry-run", "--format", "json", *target, "--scratch-url", NO_SCRATCH)
    assert alone.code == 0, alone.err
    assert set(_kinds(json.loads(alone.out)).values()) == {"pinned"}
    assert json.loads(alone.out)["rehearsal_ms"] is None
    assert "rehearsing" not in alone.err


def test_an_edited_bundled_file_is_rehearsed(
    cli: CliRunner, tmp_path: Path, gordon_empty_db: GordonDatabase
) -> None:
    """A bundled file whose bytes changed since pinning has no pinned plan any more."""
    root = tmp_path / "bundle"
    shutil.copytree(bundle.bundled_dir(), root)
    last = sorted(root.glob("*.sql"))[-1]
    last.write_bytes(last.read_bytes() + b"\n-- edited after pinning\n")
    from gordon_migrate.apply import engine

    engine.apply(dsn.parse(gordon_empty_db.dsn), BUNDLE[:-1])
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    payload = json.loads(cli("apply", "--dry-run", "--format", "json", *args).out)
    assert _kinds(payload) == {last.name: "rehearsed"}


def test_apply_rehearses_first_then_applies(
    cli: CliRunner, bundle_dir: Bundle, gordon_empty_db: GordonDatabase
) -> None:
    root = bundle_dir({"0001_fly.sql": BASE, "0002_check.sql": CHANGE})
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    result = cli("apply", "--format", "json", *args)
    assert result.code == 0, result.err
    payload = json.loads(result.out)
    assert isinstance(payload["rehearsal_ms"], float)
    events = [json.loads(line)["event"] for line in result.err.splitlines()]
    said = [e for e in events if e.startswith("rehearsed 0001_fly.sql, 0002_check.sql on ")]
    assert len(said) == 1 and " in " in said[0], events
    assert _history(gordon_empty_db.dsn) == [(1, True), (2, True)]


def test_the_report_of_an_apply_shows_the_plan_it_rehearsed(
    cli: CliRunner, bundle_dir: Bundle, gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    root = bundle_dir({"0001_fly.sql": BASE, "0002_check.sql": CHANGE})
    report = tmp_path / "apply.json"
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    result = cli("apply", *args, "--report", str(report))
    assert result.code == 0, result.err
    assert (
        sum("rehearsed 0001_fly.sql, 0002_check.sql" in line for line in result.err.splitlines())
        == 1
    )
    written = json.loads(report.read_text())
    assert written["plan"] == "measured"
    first, second = written["migrations"]
    assert (first["plan"], first["plan_provenance"]) == ("measured", "rehearsed")
    [check] = second["statements"]
    locks = {lock["relation"]: lock["mode"] for lock in check["locks"]}
    assert locks["public.fly"] == "AccessExclusiveLock"


def test_the_lock_hold_gate_judges_the_rehearsed_plan(
    cli: CliRunner, bundle_dir: Bundle, gordon_empty_db: GordonDatabase
) -> None:
    """0002 rewrites public.fly (20,000 rows): rehearsed, it takes ACCESS EXCLUSIVE and
    rewrites the table, so apply refuses it over a 1 ms budget, saying where the plan is from."""
    args = ("--database-url", gordon_empty_db.dsn)
    assert (
        cli("apply", *args, "--migrations-dir", str(bundle_dir({"0001_fly.sql": BASE}))).code == 0
    )
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO public.fly SELECT g, g FROM generate_series(1, 20000) g")
    rewrite = (
        "-- gordon:allow alter-column-type the lock-hold gate is under test\n"
        "ALTER TABLE public.fly ALTER COLUMN n TYPE bigint;\n"
    )
    root = bundle_dir({"0001_fly.sql": BASE, "0002_rewrite.sql": rewrite})
    result = cli("apply", *args, "--migrations-dir", str(root), "--lock-hold-budget", "1ms")
    assert result.code == 1, result.out
    line = result.error_line
    assert line.startswith("migration 0002_rewrite.sql:2: long-lock: rewrites public.fly ("), line
    assert "under ACCESS EXCLUSIVE" in line
    assert "(rehearsed just now on PostgreSQL " in line and "Nothing was run" in line
    assert _history(gordon_empty_db.dsn) == [(1, True)]


def test_a_migration_failing_on_the_scratch_is_refused_before_the_lock(
    cli: CliRunner, bundle_dir: Bundle, gordon_empty_db: GordonDatabase
) -> None:
    """0002 names a table nobody created: the rehearsal says where and what the server
    said; the target's history is as it was and no migration lock was ever waited for."""
    first = bundle_dir({"0001_fly.sql": BASE})
    args = ("--database-url", gordon_empty_db.dsn)
    assert cli("apply", *args, "--migrations-dir", str(first)).code == 0
    root = bundle_dir(
        {
            "0001_fly.sql": BASE,
            "0002_broken.sql": "SELECT 1;\nALTER TABLE public.nowhere ADD x int;\n",
        }
    )
    for extra in ((), ("--dry-run",)):
        result = cli("apply", *extra, *args, "--migrations-dir", str(root))
        assert result.code == 1, result.out
        line = result.error_line
        assert line.startswith("0002_broken.sql:2: SQLSTATE 42P01: "), line
        assert 'relation "public.nowhere" does not exist' in line
        assert "on the scratch; the target was not touched" in line
        assert "lock_wait" not in result.err and "advisory lock" not in result.err
        assert _history(gordon_empty_db.dsn) == [(1, True)]
    with psycopg.connect(gordon_empty_db.dsn) as conn:
        row = conn.execute("SELECT to_regclass('public.fly')").fetchone()
    assert row == ("fly",), "what was applied before stays"


def test_no_scratch_is_one_line_and_exit_1(
    cli: CliRunner, bundle_dir: Bundle, gordon_empty_db: GordonDatabase
) -> None:
    root = bundle_dir({"0001_fly.sql": BASE})
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    for command in (("apply",), ("apply", "--dry-run")):
        result = cli(*command, *args, "--scratch-url", NO_SCRATCH)
        assert result.code == 1, result.out
        line = result.error_line
        assert line.startswith(
            "cannot rehearse 0001_fly.sql, which the pinned lock plan lacks: no scratch server ("
        ), line
        assert "127.0.0.1" in line and "--static-plan" in line and "Nothing was run" in line
        assert "\n" not in line
        assert _history(gordon_empty_db.dsn) == []
    draft = root / "0001_fly.sql"
    linted = cli(
        "lint", "--database-url", gordon_empty_db.dsn, "--scratch-url", NO_SCRATCH, str(draft)
    )
    assert linted.code == 1 and linted.error_line.startswith("cannot rehearse 0001_fly.sql")


def test_an_embedded_scratch_that_cannot_start_is_one_line(
    cli: CliRunner,
    bundle_dir: Bundle,
    gordon_empty_db: GordonDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a scratch URL the scratch is a throwaway embedded server of the target's
    major, in a temporary directory; one nobody can make a directory in (``/proc``, not
    even root) stops it before it starts."""
    monkeypatch.delenv("GORDON_SCRATCH_URL", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", "/proc")
    monkeypatch.setenv("TMPDIR", "/proc")  # else the scratch would go on the RAM disk
    root = bundle_dir({"0001_fly.sql": BASE})
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    result = cli("apply", "--dry-run", *args)
    assert result.code == 1, result.out
    line = result.error_line
    assert line.startswith("cannot rehearse 0001_fly.sql, which the pinned lock"), line
    assert "embedded scratch server's directory" in line and "/proc" in line
    assert _history(gordon_empty_db.dsn) == []


def test_static_plan_is_guessed_everywhere(
    cli: CliRunner, bundle_dir: Bundle, gordon_empty_db: GordonDatabase
) -> None:
    root = bundle_dir({"0001_fly.sql": BASE, "0002_check.sql": CHANGE})
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root), "--static-plan")
    text = cli("apply", "--dry-run", *args)
    assert text.code == 0, text.err
    assert "0001_fly.sql: GUESSED: static plan, not rehearsed" in text.out
    assert "0002_check.sql: GUESSED: static plan, not rehearsed" in text.out
    payload = json.loads(cli("apply", "--dry-run", "--format", "json", *args).out)
    assert payload["plan"] == "static" and payload["rehearsal_ms"] is None
    assert set(_kinds(payload).values()) == {"guessed"}
    both = cli("apply", *args, "--scratch-url", NO_SCRATCH)
    assert both.code == 1 and "exclude each other" in both.error_line
    done = cli("apply", "--format", "json", *args)
    assert done.code == 0, done.err
    assert "rehearsal_ms" not in json.loads(done.out)
    assert not [e for e in done.err.splitlines() if "rehears" in e]
    assert _history(gordon_empty_db.dsn) == [(1, True), (2, True)]


def test_lint_with_a_database_rehearses_a_draft(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase, gordon_server: TestServer
) -> None:
    draft = tmp_path / f"{NEXT}_fly.sql"
    draft.write_text(BASE + CHANGE)
    result = cli("lint", "--database-url", gordon_db.dsn, str(draft))
    assert result.code == 0, result.out
    assert f"{NEXT}_fly.sql: rehearsed just now on PostgreSQL {gordon_server.version}" in result.out
    payload = json.loads(
        cli("lint", "--format", "json", "--database-url", gordon_db.dsn, str(draft)).out
    )
    assert _kinds(payload) == {f"{NEXT}_fly.sql": "rehearsed"}
    guessed = cli("lint", "--database-url", gordon_db.dsn, "--static-plan", str(draft))
    assert f"{NEXT}_fly.sql: GUESSED: static plan, not rehearsed" in guessed.out


def test_a_plan_read_again_keeps_its_rehearsal(
    bundle_dir: Bundle, gordon_empty_db: GordonDatabase, gordon_server: TestServer
) -> None:
    """The TUI's refresh passes the previous plan back: while the pending files are the same
    nothing is rehearsed again (here the second request names an unreachable scratch, which a
    rehearsal would fail on), and without a request nothing is rehearsed at all."""
    migrations = bundle.load(bundle_dir({"0001_fly.sql": BASE}))
    target = dsn.parse(gordon_empty_db.dsn)
    first_request = OnTheFly(target=target, scratch_server=dsn.parse(gordon_server.admin_dsn))
    unreachable = OnTheFly(target=target, scratch_server=dsn.parse(NO_SCRATCH))
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        plain = read_plan(conn, migrations)
        assert [p.provenance.kind for p in plain.plans] == ["guessed"]
        first = read_plan(conn, migrations, rehearse=first_request)
        assert [p.provenance.kind for p in first.plans] == ["rehearsed"]
        again = read_plan(conn, migrations, previous=first, rehearse=unreachable)
        assert again.plans is first.plans
        refreshed = read_plan(conn, migrations, previous=first)
        assert refreshed.plans is first.plans


def test_apply_keeps_the_plans_the_operator_confirmed(
    bundle_dir: Bundle, gordon_empty_db: GordonDatabase, gordon_server: TestServer
) -> None:
    """The TUI's confirmation rehearsed the pending files and showed their plan: apply judges
    that plan, without a second rehearsal (here it could not have one: the scratch it is given
    is unreachable), unless the pending files changed since."""
    from gordon_migrate.apply import engine
    from gordon_migrate.core.errors import ScratchError

    root = bundle_dir({"0001_fly.sql": BASE})
    migrations = bundle.load(root)
    target = dsn.parse(gordon_empty_db.dsn)
    reachable = OnTheFly(target=target, scratch_server=dsn.parse(gordon_server.admin_dsn))
    unreachable = OnTheFly(target=target, scratch_server=dsn.parse(NO_SCRATCH))
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        confirmed = read_plan(conn, migrations, rehearse=reachable).plans
    (root / "0001_fly.sql").write_text(BASE + "-- edited after the confirmation\n")
    edited = bundle.load(root)
    with pytest.raises(ScratchError):
        engine.apply(target, edited, rehearse=unreachable, confirmed=confirmed)
    assert _history(gordon_empty_db.dsn) == []
    result = engine.apply(target, migrations, rehearse=unreachable, confirmed=confirmed)
    assert [step.version for step in result.applied] == [1]
    assert result.rehearsal_ms is not None  # the confirmation's, reported as this run's
