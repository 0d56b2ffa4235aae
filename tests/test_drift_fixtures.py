"""The committed fixtures are exactly what the migrations build, on every supported server."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn
from gordon_migrate.core.errors import DriftError
from gordon_migrate.core.settings import EMBEDDED_VERSION, EMBEDDED_VERSIONS
from gordon_migrate.drift import build_fixtures, fixtures
from gordon_migrate.drift.model import Line
from gordon_migrate.rehearse import functions, pinned, pinning
from gordon_migrate.rehearse.model import Lock
from gordon_migrate.rehearse.pinned import PinnedPlan
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support.cli import CliRunner

REGENERATE = "run `gordon-migrate fixtures update` and commit the result"


def committed(major: int) -> dict[str, str]:
    """The committed fixtures a server of ``major`` writes: the common files, the lock plan
    and the functions (their measurements on the other majors kept) and its own built-ins
    (each major pins its own; the others are left as they are)."""
    root = fixtures.bundled_dir()
    names = (
        *fixtures.ALL_FILES,
        fixtures.LOCKPLAN_FILE,
        functions.FILE,
        fixtures.builtins_file(major),
    )
    return {name: (root / name).read_text(encoding="utf-8") for name in names}


def test_committed_fixtures_match_the_migrations(gordon_db: GordonDatabase) -> None:
    """Regenerated from the template database (every bundled migration applied)."""
    built = build_fixtures(dsn.parse(gordon_db.dsn))
    stale = fixtures.stale(built, fixtures.bundled_dir())
    assert not stale, f"fixtures are out of date ({REGENERATE}):\n" + "".join(stale.values())


def test_fixtures_update_on_a_scratch_server_drops_its_scratch_database(
    cli: CliRunner, gordon_server: TestServer, tmp_path: Path
) -> None:
    result = cli(
        "fixtures", "update", "--database-url", gordon_server.admin_dsn, "--output", str(tmp_path)
    )
    assert result.code == 0, result.err
    written = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()}
    assert written == committed(gordon_server.version)
    assert f"schema sha256 {fixtures.load(tmp_path).checksum}" in result.out
    with gordon_server.admin() as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'gordon\\_fixtures\\_%'"
        ).fetchall()
    assert left == []


def test_fixtures_update_on_the_embedded_server(
    cli: CliRunner, gordon_server: TestServer, tmp_path: Path
) -> None:
    """The default: a throwaway embedded server, nothing to set up. It runs the other
    supported version than the session's server, so every run compares 16 with 18."""
    other = "16" if gordon_server.version == 18 else "18"
    result = cli("fixtures", "update", "--pg-version", other, "--output", str(tmp_path))
    assert result.code == 0, result.err
    written = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()}
    assert written == committed(int(other))


def test_fixtures_update_check_reports_stale_files(
    cli: CliRunner, gordon_server: TestServer, tmp_path: Path
) -> None:
    for name, text in committed(gordon_server.version).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    server = ("--database-url", gordon_server.admin_dsn)
    fresh = cli("fixtures", "update", "--check", "--output", str(tmp_path), *server)
    assert fresh.code == 0, fresh.err
    assert "up to date" in fresh.out
    notify = tmp_path / "notify_allowlist.txt"
    notify.write_text(notify.read_text() + "channel rogue\tfunction trading.rogue()\n")
    stale = cli("fixtures", "update", "--check", "--output", str(tmp_path), *server)
    assert stale.code == 1
    assert "-channel rogue\tfunction trading.rogue()" in stale.out
    assert "out of date (notify_allowlist.txt)" in stale.out
    assert "channel rogue" in notify.read_text(), "--check writes nothing"
    rewritten = cli("fixtures", "update", "--output", str(tmp_path), *server)
    assert rewritten.code == 0
    assert "updated notify_allowlist.txt" in rewritten.out
    assert notify.read_text() == committed(gordon_server.version)["notify_allowlist.txt"]


def test_fixtures_update_never_reads_database_url_from_the_environment(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DATABASE_URL in an operator's shell may be production: only the flag selects a server."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1:9/production")
    result = cli("fixtures", "update", "--check", "--output", str(tmp_path))
    assert "127.0.0.1:9" not in result.out + result.err
    assert result.code == 1  # an empty directory is stale, but it was built on the embedded server


def test_fixture_files_are_sorted_one_entry_per_line() -> None:
    paths = sorted(fixtures.bundled_dir().glob("*.txt"))
    assert {p.name for p in paths} >= {*fixtures.FILES.values(), "builtins.pg18.txt"}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        lines = [line for line in text.split("\n") if line and not line.startswith("#")]
        name = path.name
        assert lines == sorted(lines), name
        assert all(line.count("\t") in (1, 2) for line in lines), name


def test_escaping_round_trips() -> None:
    lines = [Line("function s.f()", "body", "a\tb\nc\\n\r"), Line("channel x", "trigger s.t.x")]
    text = fixtures.render("schema", lines)
    assert len(text.strip().split("\n")) == 4  # two header lines, one line per entry
    assert fixtures.parse(text) == tuple(sorted(lines))


def test_a_channel_that_is_not_static_cannot_be_pinned(
    gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    for migration in bundle.load():
        shutil.copy(migration.path, tmp_path / migration.filename)
    (tmp_path / "9999_dynamic_notify.sql").write_text(
        # apply's lint gate would refuse this function: it is the point of the test.
        "-- gordon:allow notify-channel provokes the drift refusal\n"
        "-- gordon:allow function-search-path provokes the drift refusal\n"
        "CREATE FUNCTION trading.wake(chan text) RETURNS void LANGUAGE plpgsql AS\n"
        "$$ BEGIN PERFORM pg_notify(chan, ''); END $$;\n"
    )
    migrations = bundle.load(tmp_path)
    target = dsn.parse(gordon_empty_db.dsn)
    engine.apply(target, migrations)
    with pytest.raises(DriftError) as raised:
        build_fixtures(target, migrations)
    assert str(raised.value).startswith(
        "function trading.wake(chan text) notifies with pg_notify(chan, ...): the channel "
        "cannot be determined statically"
    )


def test_fixtures_are_built_only_from_a_fully_migrated_database(
    gordon_empty_db: GordonDatabase,
) -> None:
    migrations = bundle.load()
    target = dsn.parse(gordon_empty_db.dsn)
    engine.apply(target, migrations[:-1])
    with pytest.raises(DriftError) as raised:
        build_fixtures(target, migrations)
    assert f"{migrations[-1].label} is pending" in str(raised.value)


def test_roles_other_tools_created_are_not_pinned(gordon_db: GordonDatabase) -> None:
    """A role no migration names (left by another test, or by ops) is not a Gordon role."""
    with gordon_db.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS gordon_test_stray")
        conn.execute("CREATE ROLE gordon_test_stray LOGIN")
        try:
            built = build_fixtures(dsn.parse(gordon_db.dsn))
        finally:
            conn.execute("DROP ROLE gordon_test_stray")
    assert "gordon_test_stray" not in built["grants.txt"]
    assert "role gordon_drift_reader\tsuperuser\tno" in built["grants.txt"]


def test_bundled_dir_is_the_checkout_fixtures() -> None:
    assert fixtures.bundled_dir() == Path(__file__).resolve().parent.parent / "fixtures"


def test_checksum_file_is_in_sha256sum_format() -> None:
    import subprocess

    done = subprocess.run(
        ["sha256sum", "-c", "schema.sha256"],
        cwd=fixtures.bundled_dir(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "schema.txt: OK\n"


def _write_committed(directory: Path, major: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in committed(major).items():
        (directory / name).write_text(text, encoding="utf-8")


def _stale_line(out: str, path: Path) -> str:
    (line,) = [x for x in out.splitlines() if x.startswith(f"{path} is stale: ")]
    return line


def test_fixtures_update_check_names_the_statement_of_a_stale_lock_plan(
    cli: CliRunner, gordon_server: TestServer, tmp_path: Path
) -> None:
    """The pinned plan says 0035's CREATE INDEX CONCURRENTLY takes SHARE on trading.fills;
    the server takes SHARE UPDATE EXCLUSIVE."""
    _write_committed(tmp_path, gordon_server.version)
    path = tmp_path / fixtures.LOCKPLAN_FILE
    plan = pinned.parse(path.read_text(encoding="utf-8"))
    build = plan.migrations[35]
    first = replace(build.statements[0], locks=(Lock("trading.fills", "table", "SHARE"),))
    edited = replace(build, statements=(first, *build.statements[1:]))
    path.write_text(pinning.render(PinnedPlan({**plan.migrations, 35: edited})), encoding="utf-8")
    server = ("--database-url", gordon_server.admin_dsn)
    stale = cli("fixtures", "update", "--check", "--output", str(tmp_path), *server)
    assert stale.code == 1
    on = (
        ""
        if gordon_server.version == EMBEDDED_VERSION
        else f" on PostgreSQL {gordon_server.version}"
    )
    assert _stale_line(stale.out, path) == (
        f"{path} is stale: 0035_fills_filled_at_index.sql:6{on}: locks"
    )
    assert "out of date (lockplan.json)" in stale.out
    assert pinned.parse(path.read_text(encoding="utf-8")).migrations[35] == edited, "wrote nothing"


def test_fixtures_update_check_catches_a_migration_edited_since_its_plan_was_pinned(
    cli: CliRunner, gordon_server: TestServer, tmp_path: Path
) -> None:
    """A comment added to 0013 (lint finds nothing in it, so apply's gate lets it through):
    the schema is the same, its pinned plan is not for these bytes any more."""
    root = tmp_path / "migrations"
    root.mkdir()
    migrations = bundle.load()
    for migration in migrations:
        shutil.copy(migration.path, root / migration.filename)
    edited = root / "0013_trade_prints_traded_at_index.sql"
    edited.write_text(edited.read_text(encoding="utf-8") + "-- reviewed again\n", encoding="utf-8")
    out = tmp_path / "fixtures"
    _write_committed(out, gordon_server.version)
    args = ("--migrations-dir", str(root), "--output", str(out))
    stale = cli("fixtures", "update", "--check", *args, "--database-url", gordon_server.admin_dsn)
    assert stale.code == 1, stale.err
    assert _stale_line(stale.out, out / fixtures.LOCKPLAN_FILE).endswith(
        f": {edited.name}: pinned for other bytes (the file was edited)"
    )
    assert f"fixtures in {out} are out of date (lockplan.json)" in stale.out


@pytest.mark.parametrize("major", EMBEDDED_VERSIONS)
def test_the_pinned_lock_plan_is_what_each_embedded_major_measures(major: int) -> None:
    """The bundle rehearsed from empty as ``fixtures update`` does it, on a throwaway embedded
    server of ``major``, measured anew (nothing pinned before): every statement's facts are
    the pinned ones for that major (``by_major`` where it differs from 18)."""
    migrations = bundle.load()
    files = fixtures.generate(migrations, pg_version=major, lockplan_prior=PinnedPlan())
    measured = pinned.parse(files[fixtures.LOCKPLAN_FILE])
    plan = pinned.load()
    for migration in migrations:
        found = plan.lookup(migration.version, migration.checksum.hex())
        assert found is not None, f"{migration.filename} is not pinned: {REGENERATE}"
        got = measured.migrations[migration.version]
        assert got.server_major == major
        assert found.on(major) == got.statements, (
            f"{migration.filename} on PostgreSQL {major}: {REGENERATE}"
        )
