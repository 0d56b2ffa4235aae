"""The bundle applies cleanly: on an empty database of a cluster where the roles already exist,
over roles that exist with the wrong attributes, and on a brand-new cluster where several
databases create the roles at the same moment."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn
from gordon_migrate.core.errors import GordonError, MigrationError
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support.sql import Conn

BUNDLE = bundle.load()
ROLES = [
    "gordon_api",
    "gordon_bots",
    "gordon_drift_reader",
    "gordon_ingest",
    "gordon_outbox_relay",
    "gordon_risk",
    "gordon_trading",
]
ATTRIBUTES = (
    "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication,"
    " rolbypassrls FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname"
)
LOGIN_ONLY = [(role, True, False, False, False, False, False) for role in ROLES]


def apply_all(target: str) -> int:
    return len(engine.apply(dsn.parse(target), BUNDLE).applied)


def relation_count(target: str) -> int:
    with psycopg.connect(target, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('market_data', 'trading', 'bus') AND c.relkind IN ('r', 'v')"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_bundle_has_38_migrations() -> None:
    assert [m.version for m in BUNDLE] == list(range(1, 39))
    assert [m.filename for m in BUNDLE if m.no_transaction] == [
        "0013_trade_prints_traded_at_index.sql",
        "0035_fills_filled_at_index.sql",
    ]


@pytest.mark.usefixtures("gordon_template")  # the roles exist cluster-wide
def test_applies_on_an_empty_database_where_the_roles_exist(
    gordon_server: TestServer, gordon_empty_db: GordonDatabase
) -> None:
    with gordon_server.admin() as admin:
        before = admin.execute(ATTRIBUTES, (ROLES,)).fetchall()
    assert before == LOGIN_ONLY, "the session template already created the roles"
    assert apply_all(gordon_empty_db.dsn) == 38
    assert relation_count(gordon_empty_db.dsn) == 32  # 28 tables, 4 reader views
    assert apply_all(gordon_empty_db.dsn) == 0
    with gordon_server.admin() as admin:
        assert admin.execute(ATTRIBUTES, (ROLES,)).fetchall() == LOGIN_ONLY


@pytest.fixture
def admin(gordon_server: TestServer) -> Iterator[Conn]:
    with gordon_server.admin() as conn:
        yield conn


@pytest.mark.usefixtures("gordon_template")  # the roles exist cluster-wide
def test_a_pre_existing_role_is_normalised_not_recreated(
    admin: Conn, gordon_empty_db: GordonDatabase
) -> None:
    """Roles are cluster-wide: a role made by hand keeps its identity and password, loses the
    attributes a runtime role must not have."""
    identity = "SELECT oid, rolpassword FROM pg_authid WHERE rolname = 'gordon_api'"
    before = admin.execute(identity).fetchall()
    admin.execute("ALTER ROLE gordon_api NOLOGIN CREATEDB CREATEROLE BYPASSRLS")
    admin.execute("ALTER ROLE gordon_outbox_relay REPLICATION")
    try:
        assert apply_all(gordon_empty_db.dsn) == 38
        assert admin.execute(ATTRIBUTES, (ROLES,)).fetchall() == LOGIN_ONLY
        assert admin.execute(identity).fetchall() == before
    finally:
        admin.execute("ALTER ROLE gordon_api LOGIN NOCREATEDB NOCREATEROLE NOBYPASSRLS")
        admin.execute("ALTER ROLE gordon_outbox_relay NOREPLICATION")


@pytest.mark.usefixtures("gordon_template")  # the roles exist cluster-wide
def test_a_runtime_role_with_a_membership_is_refused(
    admin: Conn, gordon_empty_db: GordonDatabase
) -> None:
    admin.execute("GRANT pg_read_all_data TO gordon_api")
    try:
        with pytest.raises(MigrationError, match="gordon_api is a member of role pg_read_all_data"):
            apply_all(gordon_empty_db.dsn)
    finally:
        admin.execute("REVOKE pg_read_all_data FROM gordon_api")
    with psycopg.connect(gordon_empty_db.dsn, autocommit=True) as conn:
        applied = conn.execute("SELECT max(version) FROM public._sqlx_migrations").fetchone()
    assert applied == (7,), "0008 rolled back whole; 0001-0007 stay applied"
    assert apply_all(gordon_empty_db.dsn) == 31, "once the membership is gone, the rest applies"


@pytest.fixture
def fresh_cluster(gordon_server: TestServer) -> Iterator[str]:
    """Admin DSN of a brand-new embedded cluster of the session's version: no Gordon role."""
    if gordon_server.embedded is None:
        pytest.skip("needs a fresh cluster: roles are cluster-wide")
    from gordon_migrate.core import embedded

    root = Path(tempfile.mkdtemp(prefix="gordon-roles-"))
    server = embedded.start(root / "pg", gordon_server.version, keep=False)
    try:
        yield server.admin_dsn
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_fresh_cluster_databases_race_to_create_the_roles(fresh_cluster: str) -> None:
    names = [f"race_{i}" for i in range(4)]
    with psycopg.connect(fresh_cluster, autocommit=True) as conn:
        assert conn.execute(ATTRIBUTES, (ROLES,)).fetchall() == []
        for name in names:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    targets = [psycopg.conninfo.make_conninfo(fresh_cluster, dbname=name) for name in names]

    # Deterministic race on 0001: database A has created the roles, uncommitted; database B
    # tries too, waits on A, and must succeed once A commits.
    first = BUNDLE[0].sql
    with psycopg.connect(targets[0]) as a, psycopg.connect(targets[1]) as b:
        a.execute(first)
        outcome: list[BaseException | None] = []

        def run_b() -> None:
            try:
                b.execute(first)
                b.commit()
                outcome.append(None)
            except psycopg.Error as exc:
                outcome.append(exc)

        racer = threading.Thread(target=run_b)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "B waits for A's uncommitted CREATE ROLE"
        a.commit()
        racer.join(timeout=30)
        assert outcome == [None]

    # And the real thing: whole bundles, concurrently, into two more databases.
    results: dict[str, int | BaseException] = {}

    def run(target: str) -> None:
        try:
            results[target] = apply_all(target)
        except (GordonError, psycopg.Error) as exc:  # reported by the assertion below
            results[target] = exc

    threads = [threading.Thread(target=run, args=(t,)) for t in targets[2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {target: 38 for target in targets[2:]}
    with psycopg.connect(fresh_cluster, autocommit=True) as conn:
        assert conn.execute(ATTRIBUTES, (ROLES,)).fetchall() == LOGIN_ONLY
