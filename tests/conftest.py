"""Shared helpers: run the CLI for real, write throwaway bundles, snapshot a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.cli import main
from gordon_migrate.testing import TestServer


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one line the CLI prints for an expected failure."""
        return error_event(self.err)


def error_event(stderr: str) -> str:
    """The failure line of a JSON-logging run: the last stderr line, an ``error`` event."""
    last = json.loads(stderr.splitlines()[-1])
    assert last["level"] == "error", stderr
    return str(last["event"])


CliRunner = Callable[..., CliResult]


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


def run_process(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a child process (exit codes, concurrency, faults)."""
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gordon_migrate.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write a throwaway bundle: ``{"0001_create_t.sql": "CREATE TABLE ..."}`` -> its folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / f"bundle{len(list(tmp_path.glob('bundle*')))}"
        root.mkdir()
        for name, text in files.items():
            (root / name).write_bytes(text.encode("utf-8"))
        return root

    return write


_OBJECTS = """
SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' ||
       coalesce(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                           ORDER BY a.attnum), '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
GROUP BY n.nspname, c.relname, c.relkind
ORDER BY 1
"""


@dataclass(frozen=True)
class DbState:
    history: list[tuple[object, ...]]
    objects: list[str]


def db_state(dsn: str) -> DbState:
    """History rows (all columns) and every relation with its columns: "as it was" checks."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('public._sqlx_migrations')").fetchone()
        history: list[tuple[object, ...]] = []
        if exists and exists[0] is not None:
            history = conn.execute(
                "SELECT * FROM public._sqlx_migrations ORDER BY version"
            ).fetchall()
        objects = [str(row[0]) for row in conn.execute(_OBJECTS).fetchall()]
    return DbState(history=history, objects=objects)


def versions(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT version FROM public._sqlx_migrations ORDER BY version"
        ).fetchall()
    return [int(r[0]) for r in rows]


@pytest.fixture
def session_holder() -> Iterator[Callable[[str], psycopg.Connection[tuple[object, ...]]]]:
    """Open extra sessions (lock holders, blockers) that are closed after the test."""
    opened: list[psycopg.Connection[tuple[object, ...]]] = []

    def open_session(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(dsn, autocommit=True, application_name="test-holder")
        opened.append(conn)
        return conn

    yield open_session
    for conn in opened:
        conn.close()


@pytest.fixture(scope="session")
def standby_dsn(gordon_server: TestServer) -> Iterator[str]:
    """A real streaming standby of the session server (pg_basebackup -R), for refusal tests."""
    if gordon_server.embedded is None:
        pytest.skip("builds a standby from the embedded server's binaries")
    from tests.pgcluster import cluster

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
