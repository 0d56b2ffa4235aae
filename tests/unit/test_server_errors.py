"""One error mapping, at the connection: psycopg's exceptions are caught in ``core.db`` only,
and what it maps them to (``ServerError``, then the words of ``query_error`` and apply's
``migration_error``) is checked here on error objects built without a server."""

from __future__ import annotations

import ast
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.apply.failures import StatementFailed, migration_error
from gordon_migrate.apply.options import MigrationSettings
from gordon_migrate.core import db, dsn
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.errors import QueryError, ServerError
from gordon_migrate.sql.split import Statement

PACKAGE = Path(__file__).resolve().parents[2] / "gordon_migrate"

#: Modules that may catch a psycopg exception, and why.
ALLOWED = {
    # The mapping itself: connect, connection, mapped, the watchdog's cut.
    "core/db.py": "the connection layer",
    # libpq's conninfo parser raises psycopg.ProgrammingError for a malformed DSN: parsing,
    # no round trip, and dsn sits below db (db imports it), so it cannot use db.mapped.
    "core/dsn.py": "DSN parsing",
}


def _psycopg_names(tree: ast.Module) -> set[str]:
    """Names that stand for psycopg or something imported from it, in one module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name.startswith("psycopg")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("psycopg"):
            names |= {a.asname or a.name for a in node.names}
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _caught(node: ast.AST) -> list[ast.expr]:
    """The exception types an ``except`` clause or a ``contextlib.suppress(...)`` names."""
    if isinstance(node, ast.ExceptHandler) and node.type is not None:
        kinds = node.type
        return list(kinds.elts) if isinstance(kinds, ast.Tuple) else [kinds]
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "suppress":
            return list(node.args)
    return []


def psycopg_catches(source: str) -> list[int]:
    """Lines where ``source`` catches a psycopg exception (``except``, ``suppress``)."""
    tree = ast.parse(source)
    names = _psycopg_names(tree)
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler | ast.Call)
        and any(_root(kind) in names for kind in _caught(node))
    )


def test_no_module_but_the_connection_layer_catches_a_psycopg_error() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module in ALLOWED:
            continue
        found += [f"{module}:{line}" for line in psycopg_catches(path.read_text("utf-8"))]
    assert found == [], "catch the tool's ServerError (core.db.mapped) instead"


@pytest.mark.parametrize(
    "source",
    [
        "import psycopg\ntry:\n    pass\nexcept psycopg.Error:\n    pass\n",
        "import psycopg\ntry:\n    pass\nexcept (KeyError, psycopg.errors.LockNotAvailable):\n"
        "    pass\n",
        "from psycopg.errors import QueryCanceled as Q\ntry:\n    pass\nexcept Q:\n    pass\n",
        "import contextlib, psycopg\nwith contextlib.suppress(psycopg.errors.UniqueViolation):\n"
        "    pass\n",
    ],
)
def test_the_check_sees_every_way_of_catching(source: str) -> None:
    assert psycopg_catches(source) != []


def test_the_check_leaves_other_catches_alone() -> None:
    source = "import psycopg\ntry:\n    pass\nexcept (KeyError, ServerError):\n    pass\n"
    assert psycopg_catches(source) == []


def test_a_server_error_keeps_the_text_and_sqlstate() -> None:
    raw = psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")
    error = db.server_error(raw)
    assert str(error) == str(raw) == "canceling statement due to lock timeout"
    assert (error.sqlstate, error.lost, error.position) == ("55P03", False, None)
    # Built without a server, the error has no report: the fields say so, not guess.
    assert (error.primary, error.detail, error.hint) == (None, None, None)


@pytest.mark.parametrize(
    ("raw", "lost"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),
        (psycopg.errors.CrashShutdown("terminating connection"), True),
        (psycopg.errors.CannotConnectNow("the database system is shutting down"), True),
        (psycopg.errors.ConnectionFailure("connection failure"), True),
        (psycopg.errors.QueryCanceled("canceling statement due to user request"), False),
        (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), False),
        # The client's own "the connection is closed" is not a session lost mid-work.
        (psycopg.InterfaceError("the connection is closed"), False),
        (psycopg.errors.SyntaxError('syntax error at or near "SELEC"'), False),
    ],
)
def test_a_lost_session_is_told_from_a_failed_statement(raw: psycopg.Error, lost: bool) -> None:
    assert db.server_error(raw).lost is lost


def test_mapped_translates_psycopg_errors_only() -> None:
    raw = psycopg.errors.InsufficientPrivilege("permission denied for table fills")
    with pytest.raises(ServerError) as caught, db.mapped():
        raise raw
    assert caught.value.__cause__ is raw
    assert caught.value.sqlstate == "42501"
    # A ServerError (mapped further in) and any other exception pass as they are.
    inner = ServerError("as raised", sqlstate="55P03")
    with pytest.raises(ServerError) as passed, db.mapped(), db.mapped():
        raise inner
    assert passed.value is inner
    with pytest.raises(KeyError), db.mapped():
        raise KeyError("x")
    with db.mapped():
        pass


TARGET = dsn.parse("postgresql://migrator:Db9Pa55word@db.example:5432/gordon")


@pytest.mark.parametrize(
    ("raw", "read_only_session", "mode", "tail"),
    [
        (psycopg.errors.InsufficientPrivilege("permission denied"), False, "FM-12", ""),
        (psycopg.errors.DiskFull("could not extend file"), False, "FM-25", "; the database's"),
        (psycopg.errors.ReadOnlySqlTransaction("read-only"), False, "FM-11", "; the database"),
        (psycopg.errors.ReadOnlySqlTransaction("read-only"), True, "FM-28", ""),
        (psycopg.errors.DivisionByZero("division by zero"), False, "FM-28", ""),
    ],
)
def test_a_query_error_names_the_servers_state_by_sqlstate(
    raw: psycopg.Error, read_only_session: bool, mode: str, tail: str
) -> None:
    error = db.query_error(TARGET, db.server_error(raw), read_only_session=read_only_session)
    assert isinstance(error, QueryError)
    assert str(error).startswith(f"query failed: SQLSTATE {raw.sqlstate}: {raw}{tail}")
    assert error.fields() == {"sqlstate": raw.sqlstate, "failure_mode": mode}


def test_a_lost_session_and_a_callers_text_are_redacted() -> None:
    raw = psycopg.OperationalError("connection to db.example failed: password=Db9Pa55word")
    error = db.server_error(raw)
    lost = db.lost_error(TARGET, error, "reading the history")
    assert str(lost) == (
        f"lost the connection to {TARGET.redacted} while reading the history: "
        "connection to db.example failed: password=***"
    )
    assert "Db9Pa55word" not in db.error_text(TARGET, error)


SQL = "CREATE TABLE a (id int);\nALTER TABLE a\n  ADD COLUMN b int;\n"
MIGRATION = Migration(
    version=7, description="add b", path=Path("0007_add_b.sql"), data=SQL.encode()
)
SETTINGS = MigrationSettings(
    lock_timeout_ms=100, statement_timeout_ms=60_000, lock_retry_window_ms=60_000, overridden=False
)
SECOND = Statement(text="ALTER TABLE a\n  ADD COLUMN b int", start=SQL.index("ALTER"))


def test_a_failed_statement_is_placed_by_the_servers_position() -> None:
    at_start = StatementFailed(SECOND, ServerError("boom"))
    assert at_start.line(SQL) == 2
    # Position 17 of the statement is on its second line (the column's name).
    at_position = StatementFailed(SECOND, ServerError("boom", position=17))
    assert at_position.line(SQL) == 3


def test_migration_error_words_by_sqlstate() -> None:
    failed = StatementFailed(
        SECOND,
        ServerError(
            'ERROR: column "b" of relation "a" already exists',
            sqlstate="42701",
            primary='column "b" of relation "a" already exists',
            detail="the detail",
            hint="the hint",
        ),
    )
    error = migration_error(TARGET, MIGRATION, failed, SETTINGS)
    assert str(error).startswith(
        'migration 0007 (0007_add_b.sql) line 2 failed: SQLSTATE 42701: column "b" of relation "a" '
        "already exists (the detail) (the hint); it was rolled back"
    )
    assert error.fields()["failure_mode"] == "FM-19"
    cancelled = StatementFailed(
        SECOND,
        ServerError(
            "canceling statement due to user request",
            sqlstate="57014",
            primary="canceling statement due to user request",
        ),
    )
    by_another = migration_error(TARGET, MIGRATION, cancelled, SETTINGS)
    assert "was cancelled by another session" in str(by_another)
    assert by_another.fields()["failure_mode"] == "FM-30"
    timed_out = StatementFailed(
        SECOND, ServerError("canceling statement due to statement timeout", sqlstate="57014")
    )
    assert "was cancelled by statement_timeout=1min" in str(
        migration_error(TARGET, MIGRATION, timed_out, SETTINGS)
    )
