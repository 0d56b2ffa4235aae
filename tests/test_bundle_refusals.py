"""Bundles that must be refused before anything connects: each provoked for real through the
CLI in a child process; exit 1, one line naming the file, no traceback, database untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gordon_migrate.core import bundle
from gordon_migrate.core.bundle import MAX_VERSION, has_statement
from gordon_migrate.core.errors import BundleError
from gordon_migrate.testing import GordonDatabase
from tests.support import recovery as rh
from tests.support.cli import CliRunner, error_event, run_process
from tests.support.sql import db_state, versions

OK = {"0001_create_accounts.sql": b"CREATE TABLE accounts (id bigint PRIMARY KEY);\n"}

Maker = Callable[[Path], None]


def _write(name: str, data: bytes) -> Maker:
    def make(root: Path) -> None:
        (root / name).write_bytes(data)

    return make


def _symlink(name: str, target: str) -> Maker:
    return lambda root: (root / name).symlink_to(target)


def _directory(name: str) -> Maker:
    def make(root: Path) -> None:
        (root / name).mkdir()
        (root / name / "inside.sql").write_bytes(b"SELECT 1;\n")

    return make


def _fifo(name: str) -> Maker:
    # Opening a FIFO for reading blocks until a writer comes: the loader must never open it.
    return lambda root: os.mkfifo(root / name)


CASES: list[tuple[str, Maker, str]] = [
    (
        "nul-byte",
        _write("0002_nul.sql", b"CREATE TABLE a (id int);\n\x00CREATE TABLE b (id int);\n"),
        "migration 0002_nul.sql contains a NUL byte (line 2)",
    ),
    (
        "bom",
        _write("0002_bom.sql", b"\xef\xbb\xbf-- no-transaction\nCREATE TABLE b (id int);\n"),
        "migration 0002_bom.sql starts with a UTF-8 byte order mark",
    ),
    (
        "dangling-symlink",
        _symlink("0002_gone.sql", "elsewhere/0002_gone.sql"),
        "migration 0002_gone.sql is a symlink to 'elsewhere/0002_gone.sql', which does not exist",
    ),
    ("directory", _directory("0002_dir.sql"), "migration 0002_dir.sql is a directory"),
    ("fifo", _fifo("0002_pipe.sql"), "migration 0002_pipe.sql is a FIFO"),
    (
        "symlink-loop",
        _symlink("0002_loop.sql", "0002_loop.sql"),
        "migration 0002_loop.sql cannot be read: Too many levels of symbolic links",
    ),
    (
        # A regular file whose read fails even for root: this process's own memory at
        # offset 0 (unmapped), so EIO.
        "read-error",
        _symlink("0002_mem.sql", "/proc/self/mem"),
        "migration 0002_mem.sql cannot be read: Input/output error",
    ),
    ("empty", _write("0002_empty.sql", b""), "migration 0002_empty.sql has no statement"),
    (
        "whitespace",
        _write("0002_blank.sql", b"  \n\t\r\n\f\n"),
        "migration 0002_blank.sql has no statement",
    ),
    (
        "comments-only",
        _write(
            "0002_comments.sql",
            b"-- no-transaction\n-- CREATE TABLE later (id int);\n"
            b"/* outer /* nested; */ still a comment */ ;\n;\n",
        ),
        "migration 0002_comments.sql has no statement",
    ),
    (
        "version-zero",
        _write("0000_zero.sql", b"SELECT 1;\n"),
        f"'0000_zero.sql' in {{root}}: version 0000 is outside 1..{MAX_VERSION}",
    ),
    (
        "version-2^63",
        _write(f"{MAX_VERSION + 1}_big.sql", b"SELECT 1;\n"),
        f"version {MAX_VERSION + 1} is outside 1..{MAX_VERSION}",
    ),
    (
        "version-huge",
        _write("9" * 200 + "_huge.sql", b"SELECT 1;\n"),
        f"is outside 1..{MAX_VERSION}",
    ),
    (
        "fullwidth-digits",
        _write("\uff10\uff10\uff13\uff19_fullwidth.sql", b"SELECT 1;\n"),
        "the version '\uff10\uff10\uff13\uff19' is not written in ASCII digits 0-9",
    ),
    (
        "name-not-utf8",
        _write(os.fsdecode(b"0002_caf\xe9.sql"), b"SELECT 1;\n"),
        "migration file name b'0002_caf\\xe9.sql' in {root} is not valid UTF-8",
    ),
    (
        # sqlx (Rust i64::from_str) would read '+0039' as 39; a NNNN bundle never means a sign.
        "signed-version",
        _write("+0039_signed.sql", b"SELECT 1;\n"),
        "'+0039_signed.sql' in {root}: the version '+0039' has a sign",
    ),
]


def _refused(db: GordonDatabase, root: Path, expected: str, *, url: str | None = None) -> None:
    before = db_state(db.dsn)
    result = run_process(
        "apply",
        "--database-url",
        url or db.dsn,
        "--migrations-dir",
        str(root),
        "--log-format",
        "json",
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr  # the one failure line, no logs
    assert expected.format(root=root) in error_event(result.stderr)
    assert result.stdout == ""
    after = db_state(db.dsn)
    assert after == before
    assert after.history == [], "no history table, no row"


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_before_connecting(
    gordon_empty_db: GordonDatabase, tmp_path: Path, make: Maker, expected: str
) -> None:
    for name, data in OK.items():
        (tmp_path / name).write_bytes(data)
    make(tmp_path)
    _refused(gordon_empty_db, tmp_path, expected)


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_diagnose_names_the_failure_mode(
    cli: CliRunner, gordon_empty_db: GordonDatabase, tmp_path: Path, make: Maker, expected: str
) -> None:
    """docs/spof-runbook.md FM-03 quotes every refusal, so diagnose can name it."""
    make(tmp_path)
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(tmp_path))
    payload = rh.diagnose_json(cli, *args)
    config = rh.step(payload, "config")
    assert config["status"] == "problem"
    assert expected.format(root=tmp_path) in config["summary"]
    assert "FM-03" in payload["failure_modes"]
    rh.assert_symptom("FM-03", config["summary"])


def test_unreadable_file(gordon_empty_db: GordonDatabase, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a mode-000 file; the read-error and symlink-loop cases cover it")
    (tmp_path / "0001_secret.sql").write_bytes(b"SELECT 1;\n")
    (tmp_path / "0001_secret.sql").chmod(0)
    _refused(gordon_empty_db, tmp_path, "migration 0001_secret.sql cannot be read")


@pytest.mark.parametrize("extra", [{}, {"README.md": b"# notes\n", "old.txt": b"SELECT 1;\n"}])
def test_directory_without_migrations(
    gordon_empty_db: GordonDatabase, tmp_path: Path, extra: dict[str, bytes]
) -> None:
    for name, data in extra.items():
        (tmp_path / name).write_bytes(data)
    _refused(gordon_empty_db, tmp_path, f"no migrations in {tmp_path}")


def test_bundle_is_checked_before_the_server_is_reached(
    gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    """Nothing listens on port 1: a connect error would mean the loader ran too late."""
    (tmp_path / "0001_nul.sql").write_bytes(b"SELECT 1;\x00\n")
    _refused(
        gordon_empty_db,
        tmp_path,
        "migration 0001_nul.sql contains a NUL byte (line 1)",
        url="postgresql://gordon@127.0.0.1:1/gordon?connect_timeout=2",
    )


def test_largest_version_is_applied(
    cli: CliRunner, gordon_empty_db: GordonDatabase, tmp_path: Path
) -> None:
    (tmp_path / f"{MAX_VERSION}_last.sql").write_bytes(b"CREATE TABLE last (id int);\n")
    (tmp_path / "0001_first.sql").write_bytes(b"-- a comment first\n/* and */ SELECT 1;\n")
    result = cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(tmp_path))
    assert result.code == 0, result.err
    assert versions(gordon_empty_db.dsn) == [1, MAX_VERSION]


def test_description_and_leading_zeros_as_sqlx_reads_them(tmp_path: Path) -> None:
    (tmp_path / "00042_add_the_thing.sql").write_bytes(b"SELECT 1;\n")
    (migration,) = bundle.load(tmp_path)
    assert (migration.version, migration.description) == (42, "add the thing")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        bundle.load(tmp_path / "nope")


STATEMENT_CASES = [
    "",
    ";",
    " ;; \n",
    "-- x",
    "-- x\r;SELECT 1",
    "--\n",
    "/* a /* b */ c */",
    "/* a /* b */ c */ SELECT 1",
    "/*/ still open */",
    "/**/;",
    "/* * / */ -",
    "\v\f",
    "SELECT 1",
    "select';'",
    "-",
    "/",
    "\u00a0",  # not whitespace to the server: a (wrong) statement
    "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
]


@pytest.mark.parametrize("sql", STATEMENT_CASES)
def test_statement_scan_agrees_with_the_parser(sql: str) -> None:
    """The cheap scan must say what libpg_query's own split says (or, where the text does
    not parse, that there is something for the server to reject)."""
    from pglast import split
    from pglast.parser import ParseError

    try:
        expected = bool(list(split(sql, with_parser=True, only_slices=True)))
    except ParseError:
        expected = True
    assert has_statement(sql) is expected


def test_statement_scan_unterminated_comment_is_no_statement() -> None:
    # The server would refuse it too ("unterminated /* comment"); refused here, before it.
    assert has_statement("-- x\n/* never closed") is False


def test_every_bundled_migration_has_a_statement() -> None:
    assert all(has_statement(m.sql) for m in bundle.load())


def test_loading_the_bundle_keeps_pglast_off_the_no_op_path() -> None:
    """The statement check is a lexical scan: a no-op run must not pay pglast's import."""
    code = (
        "import sys\nfrom gordon_migrate.core import bundle\nbundle.load()\n"
        "print(sorted(m for m in ('pglast', 'click', 'textual') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
