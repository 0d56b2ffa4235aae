"""Other sessions' statements shown by diagnose and unlock never carry a password literal
(issue 10, item 2), whatever its quoting: real sessions, idle in a transaction that holds a
Gordon table lock, whose last statement set a role's password."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from psycopg import sql

from gordon_migrate.core.sessions import redact_passwords
from gordon_migrate.testing import GordonDatabase, unique_name
from tests.support.cli import run_process
from tests.support.sql import Sessions

# (the statement's password clause, the secret fragments it must not show)
FORMS = [
    ("PASSWORD 'pl41n''secret'", ("pl41n", "secret")),
    ("PASSWORD E'esc4ped\\'secret'", ("esc4ped", "secret")),
    ("WITH LOGIN PASSWORD $$d0llar'secret$$", ("d0llar", "secret")),
    ("PASSWORD $tag$t4gged$$secret$tag$", ("t4gged", "secret")),
    ("PASSWORD U&'unic0de\\0073ecret'", ("unic0de", "0073ecret")),
    ("PASSWORD U&'uesc4pe!0073ecret' UESCAPE '!'", ("uesc4pe", "0073ecret")),
]


@pytest.fixture
def roles(gordon_db: GordonDatabase) -> Iterator[list[str]]:
    """One role per form: an ALTER ROLE holds its role's catalog row until commit."""
    names = [unique_name("gordon_pw_role") for _ in FORMS]
    with gordon_db.connect() as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(name)))
    yield names
    with gordon_db.connect() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_every_quoting_of_a_password_is_redacted(
    gordon_db: GordonDatabase,
    roles: list[str],
    session_holder: Sessions,
) -> None:
    pids = []
    for role, (clause, _secrets) in zip(roles, FORMS, strict=True):
        conn = session_holder(gordon_db.dsn)
        conn.execute("BEGIN")
        conn.execute("LOCK TABLE trading.fills IN ACCESS SHARE MODE")
        conn.execute(f"ALTER ROLE {role} {clause}".encode())  # its last statement, as shown
        pids.append(conn.info.backend_pid)
    with gordon_db.connect() as conn:
        shown = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchall()
    assert len(shown) == len(FORMS) and all("ALTER ROLE" in str(q[0]) for q in shown)

    done = run_process(
        "diagnose", "--lock-timeout", "1ms", "--format", "json", "--database-url", gordon_db.dsn
    )
    step = next(s for s in json.loads(done.stdout)["steps"] if s["probe"] == "blocking_sessions")
    # Nothing waits behind them and nothing is pending: a warning, with the same details.
    assert step["status"] == "warning", step
    text = done.stdout + "\n".join(
        run_process("unlock", "--pid", str(pid), "--database-url", gordon_db.dsn).stdout
        for pid in pids
    )
    for clause, secrets in FORMS:
        for secret in secrets:
            assert secret not in text, f"{secret!r} of {clause!r} shown:\n{text}"
    for role in roles:
        assert f"last statement: ALTER ROLE {role} " in text
    assert f"ALTER ROLE {roles[0]} PASSWORD '***'" in text
    assert f"ALTER ROLE {roles[2]} WITH LOGIN PASSWORD '***'" in text
    assert f"ALTER ROLE {roles[5]} PASSWORD '***' UESCAPE '***'" in text


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (
            "ALTER ROLE x PASSWORD 'cut off by track_activity_query_si",
            "ALTER ROLE x PASSWORD '***' ...",
        ),
        ("ALTER ROLE x PASSWORD $q$never closed", "ALTER ROLE x PASSWORD '***' ..."),
        ("SELECT 'password' AS word, 'kept'", "SELECT 'password' AS word, 'kept'"),
        (
            "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'fdw-pw')",
            "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password '***')",
        ),
        (
            "ALTER ROLE x PASSWORD 'a' VALID UNTIL 'infinity'",
            "ALTER ROLE x PASSWORD '***' VALID UNTIL 'infinity'",
        ),
    ],
)
def test_text_the_scanner_rejects_is_cut_after_password(query: str, shown: str) -> None:
    assert redact_passwords(query) == shown
