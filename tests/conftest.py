"""Fixtures of the suite (helpers the tests import live in tests/support/)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gordon_migrate.cli import main
from gordon_migrate.testing import TestServer
from tests.support import recovery as rh
from tests.support.auth import MakeScramRole, ScramRole, wait_until_password_required
from tests.support.cli import Bundle, CliResult, CliRunner
from tests.support.sql import Conn, Sessions


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit a target database or log settings from the developer's shell."""
    for name in ("DATABASE_URL", "LOG_LEVEL", "RUST_LOG", "GORDON_EMBEDDED_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``gordon-migrate ARGS`` in-process; return exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(["--log-format", "json", *args])
        captured = capsys.readouterr()
        code = exited.value.code
        return CliResult(
            code=code if isinstance(code, int) else 1, out=captured.out, err=captured.err
        )

    return run


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Bundle:
    """Write a throwaway bundle: ``{"0001_create_t.sql": "CREATE TABLE ..."}`` -> its folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / f"bundle{len(list(tmp_path.glob('bundle*')))}"
        root.mkdir()
        for name, text in files.items():
            (root / name).write_bytes(text.encode("utf-8"))
        return root

    return write


@pytest.fixture
def session_holder() -> Iterator[Sessions]:
    """Open extra sessions (lock holders, blockers) that are closed after the test."""
    opened: list[Conn] = []

    def open_session(dsn: str) -> Conn:
        conn = psycopg.connect(dsn, autocommit=True, application_name="test-holder")
        opened.append(conn)
        return conn

    yield open_session
    for conn in opened:
        conn.close()


@pytest.fixture(scope="session")
def standby_dsn(gordon_server: TestServer) -> Iterator[str]:
    """A real streaming standby of the session server (pg_basebackup -R), for refusal tests.

    Built from the embedded server's binaries: mark its tests ``embedded_only``."""
    assert gordon_server.embedded is not None, "mark the test embedded_only (builds a standby)"
    from tests.support.pgcluster import cluster

    # A replication slot keeps the primary's WAL until the standby has it: the suite writes
    # WAL fast (every clone is a WAL-logged CREATE DATABASE), and without a slot a standby
    # that falls behind under load finds its next segment recycled and never catches up.
    slot = f"gordon_test_standby_{os.getpid()}"
    with cluster(gordon_server, "gordon-standby-") as standby:
        standby.pg(
            "pg_basebackup",
            "-d",
            gordon_server.admin_dsn,
            "-D",
            str(standby.data),
            "-R",
            "-X",
            "stream",
            "-C",
            "-S",
            slot,
            "-c",
            "fast",
        )
        standby.start()
        try:
            yield standby.dsn
        finally:
            standby.stop("immediate")
            with gordon_server.admin() as admin:
                admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))


@pytest.fixture
def scram_role(gordon_server: TestServer) -> Iterator[MakeScramRole]:
    """``scram_role(password)``: a login role that must authenticate with its password
    (scram-sha-256 over the socket), through a line put first in the embedded server's
    pg_hba.conf. Afterwards pg_hba.conf is restored, reloaded, and the role dropped.

    Edits the embedded server's files: mark its tests ``embedded_only``."""
    embedded = gordon_server.embedded
    assert embedded is not None, "mark the test embedded_only (edits pg_hba.conf)"
    hba = embedded.data_dir / "pg_hba.conf"
    original = hba.read_text()
    made: list[ScramRole] = []

    def make(password: str, *, superuser: bool = False) -> ScramRole:
        assert not made, "one scram role per test"
        role = ScramRole(name="gordon_test_pw", password=password)
        name = sql.Identifier(role.name)
        with gordon_server.admin() as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(name))
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
                    name, sql.SQL("SUPERUSER" if superuser else ""), sql.Literal(password)
                )
            )
            made.append(role)
            hba.write_text(f"local all {role.name} scram-sha-256\n" + original)
            admin.execute("SELECT pg_reload_conf()")
        wait_until_password_required(gordon_server.admin_dsn, role)
        return role

    try:
        yield make
    finally:
        if made:
            hba.write_text(original)
            with gordon_server.admin() as admin:
                admin.execute("SELECT pg_reload_conf()")
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(made[0].name)))


@pytest.fixture(scope="session")
def gordon_templates(gordon_server: TestServer) -> Iterator[rh.Templates]:
    """Template databases at older versions of the bundle, made once per session."""
    yield from rh.templates(gordon_server)


@pytest.fixture
def db_at(gordon_server: TestServer, gordon_templates: rh.Templates) -> Iterator[rh.DatabaseAt]:
    """A fresh database migrated up to a version: ``db_at(34)``."""
    yield from rh.databases_at(gordon_server, gordon_templates)
