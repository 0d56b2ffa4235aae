"""pytest plugin: a real Postgres for every test, with the Gordon schema already in it.

The Python successor of the Rust ``gordon-test-db`` crate, loaded automatically (entry point
``pytest11``) wherever ``gordon-migrate`` is installed. Fixtures:

- ``gordon_server`` (session): the server. Embedded (PostgreSQL 18, or 16 with
  ``GORDON_TEST_PG_VERSION=16``) unless ``GORDON_TEST_DATABASE_URL`` gives the superuser DSN of
  another server. It is also the scratch server of apply's on-the-fly rehearsals
  (``GORDON_SCRATCH_URL``, unless already set): a test's apply of a bundle the pinned lock
  plan lacks rehearses in a throwaway database there instead of starting a server of its own.
- ``gordon_template`` (session): name of a template database with every bundled migration
  applied, once per session.
- ``gordon_db``: a fresh clone of the template for one test (``CREATE DATABASE ... TEMPLATE``,
  made one ahead in the background), dropped afterwards.
- ``gordon_empty_db``: a fresh empty database for one test.

Marker: ``@pytest.mark.embedded_only(reason, version=None)`` for a test that needs the embedded
server (its pg_hba.conf, its binaries, its trusted logins; of one major version if given): it
is skipped with ``reason`` when the session's server is another one.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn
from gordon_migrate.core.db import Conn
from gordon_migrate.core.embedded import EmbeddedServer
from gordon_migrate.core.settings import SCRATCH_URL_ENV

EXTERNAL_ENV = "GORDON_TEST_DATABASE_URL"
VERSION_ENV = "GORDON_TEST_PG_VERSION"


@dataclass
class TestServer:
    """The session's Postgres server."""

    __test__ = False  # not a test class, whatever its name

    admin_dsn: str
    version: int
    embedded: EmbeddedServer | None
    _passwords: dict[str, str] = field(default_factory=dict)

    def dsn_for(self, dbname: str, role: str | None = None) -> str:
        """DSN of ``dbname`` as the superuser, or as a real login of ``role``.

        The embedded server trusts local logins; on an external server the role is given a
        random password for this session (test servers only).
        """
        if role is None:
            return conninfo.make_conninfo(self.admin_dsn, dbname=dbname)
        if self.embedded is not None:
            return conninfo.make_conninfo(self.admin_dsn, dbname=dbname, user=role)
        if role not in self._passwords:
            password = secrets.token_urlsafe(18)
            with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
            self._passwords[role] = password
        return conninfo.make_conninfo(
            self.admin_dsn, dbname=dbname, user=role, password=self._passwords[role]
        )

    def admin(self) -> Conn:
        return psycopg.connect(self.admin_dsn, autocommit=True)

    def create_database(self, name: str, template: str | None = None) -> None:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        with self.admin() as conn:
            conn.execute(query)
            if template is not None:
                copy_database_grants(conn, template, name)

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            sealed = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s AND datistemplate", (name,)
            ).fetchone()
            if sealed:  # a template cannot be dropped as such
                conn.execute(
                    sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name))
                )
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def seal_template(self, name: str) -> None:
        """Freeze ``name`` for cloning: vacuumed, and closed to connections.

        ``CREATE DATABASE ... TEMPLATE`` waits (in 100 ms steps) while any session is
        connected to the template, autovacuum included; a template that accepts no connection
        is never visited by autovacuum, and a frozen one gives it nothing to do in the clones.
        """
        with psycopg.connect(self.dsn_for(name), autocommit=True) as conn:
            conn.execute("VACUUM (FREEZE, ANALYZE)")
        with self.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true").format(
                    sql.Identifier(name)
                )
            )


def copy_database_grants(conn: Conn, template: str, name: str) -> None:
    """CREATE DATABASE ... TEMPLATE copies the contents, not the database's own privileges:
    give the clone the CONNECT grants the migrations gave the template (drift-check pins them)."""
    rows = conn.execute(
        "SELECT pg_get_userbyid(x.grantee)::text, x.privilege_type "
        "FROM pg_database d, aclexplode(d.datacl) x "
        "WHERE d.datname = %s AND x.grantee NOT IN (0, d.datdba)",
        (template,),
    ).fetchall()
    for grantee, privilege in rows:
        conn.execute(
            sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                sql.SQL(privilege), sql.Identifier(name), sql.Identifier(grantee)
            )
        )


@dataclass(frozen=True)
class GordonDatabase:
    """One test's database."""

    name: str
    dsn: str
    server: TestServer

    def dsn_as(self, role: str) -> str:
        """This database, logged in as ``role`` (a real login, not SET ROLE)."""
        return self.server.dsn_for(self.name, role)

    def connect(self, role: str | None = None) -> Conn:
        return psycopg.connect(self.dsn_as(role) if role else self.dsn, autocommit=True)


_names = itertools.count(1)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_names)}"


def scratch_parent() -> str | None:
    """Where the embedded test server keeps its data: ``GORDON_TEST_PG_DIR``, else a RAM disk.

    Every test clones an 8 MB database and throws it away: on tmpfs a clone takes ~10 ms
    instead of ~100 ms on disk, and nothing of value is lost at a crash.
    """
    chosen = os.environ.get("GORDON_TEST_PG_DIR")
    if chosen:
        return chosen
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _embedded_major() -> int:
    return int(os.environ.get(VERSION_ENV, "18"))


def embedded_version() -> int | None:
    """Major version of the embedded server ``gordon_server`` starts, or ``None`` when
    ``GORDON_TEST_DATABASE_URL`` names another server. Known before any server starts."""
    return None if os.environ.get(EXTERNAL_ENV) else _embedded_major()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedded_only(reason, version=None): needs the embedded test server (its files, its"
        " binaries, its trusted local logins), of that major version if given; skipped with"
        " `reason` on any other server",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skips the ``embedded_only`` tests the session's server cannot serve, before it starts."""
    running = embedded_version()
    for item in items:
        marker = item.get_closest_marker("embedded_only")
        if marker is None:
            continue
        if len(marker.args) != 1 or set(marker.kwargs) - {"version"}:
            raise pytest.UsageError(
                f"{item.nodeid}: write @pytest.mark.embedded_only(reason, version=None)"
            )
        wanted = marker.kwargs.get("version")
        if running is None or (wanted is not None and running != wanted):
            item.add_marker(pytest.mark.skip(reason=str(marker.args[0])))


@pytest.fixture(scope="session")
def gordon_server() -> Iterator[TestServer]:
    with _served() as server:
        # An embedded scratch server per apply of a test bundle would cost a server start
        # each; a scratch database on the test server costs a CREATE DATABASE.
        own = SCRATCH_URL_ENV not in os.environ
        if own:
            os.environ[SCRATCH_URL_ENV] = server.admin_dsn
        try:
            yield server
        finally:
            if own:
                os.environ.pop(SCRATCH_URL_ENV, None)


@contextmanager
def _served() -> Iterator[TestServer]:
    external = os.environ.get(EXTERNAL_ENV)
    if external:
        with psycopg.connect(external, autocommit=True) as conn:
            version = conn.info.server_version // 10000
        yield TestServer(admin_dsn=external, version=version, embedded=None)
        return
    from gordon_migrate.core import embedded

    major = _embedded_major()
    root = Path(tempfile.mkdtemp(prefix="gordon-test-pg-", dir=scratch_parent()))
    server = embedded.start(root / "pg", major, keep=False)
    embedded.tune_for_tests(server)
    try:
        yield TestServer(admin_dsn=server.admin_dsn, version=major, embedded=server)
    finally:
        server.stop()
        # The server removes its data directory (keep=False), not the folder made for it.
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def gordon_template(gordon_server: TestServer) -> Iterator[str]:
    name = unique_name("gordon_template")
    gordon_server.create_database(name)
    try:
        target = dsn.parse(gordon_server.dsn_for(name))
        engine.apply(target, bundle.load())
        gordon_server.seal_template(name)
        yield name
    finally:
        gordon_server.drop_database(name)


class ClonePool:
    """Clones of the template made one ahead, in a background thread, while a test runs.

    ``CREATE DATABASE ... TEMPLATE`` copies the whole template (the base catalogs alone are
    about 8 MB): made ahead, a test waits only for what is left of it, usually nothing.
    """

    def __init__(self, server: TestServer, template: str) -> None:
        self._server = server
        self._template = template
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gordon-clone")
        self._next: Future[str] = self._executor.submit(self._make)

    def _make(self) -> str:
        name = unique_name("gordon_test")
        self._server.create_database(name, self._template)
        return name

    def take(self) -> str:
        """A fresh clone, now; the next one starts at once."""
        name = self._next.result()
        self._next = self._executor.submit(self._make)
        return name

    def close(self) -> None:
        try:
            self._server.drop_database(self._next.result())
        finally:
            self._executor.shutdown()


def _database(server: TestServer, name: str) -> Iterator[GordonDatabase]:
    try:
        yield GordonDatabase(name=name, dsn=server.dsn_for(name), server=server)
    finally:
        server.drop_database(name)


@pytest.fixture(scope="session")
def gordon_clone_pool(gordon_server: TestServer, gordon_template: str) -> Iterator[ClonePool]:
    pool = ClonePool(gordon_server, gordon_template)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def gordon_db(gordon_server: TestServer, gordon_clone_pool: ClonePool) -> Iterator[GordonDatabase]:
    yield from _database(gordon_server, gordon_clone_pool.take())


@pytest.fixture
def gordon_empty_db(gordon_server: TestServer) -> Iterator[GordonDatabase]:
    name = unique_name("gordon_test")
    gordon_server.create_database(name)
    yield from _database(gordon_server, name)
