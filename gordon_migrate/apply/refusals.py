"""What apply refuses before it takes any lock: an inconsistent history, a standby, a read-only
database, a role that cannot migrate, text the database's encoding cannot store, a blocking
lock predicted to be held longer than its budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from gordon_migrate.apply import history
from gordon_migrate.apply.resolve import ResolvedPlan
from gordon_migrate.apply.status import DatabaseStatus
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, mapped, server_encoding
from gordon_migrate.core.errors import (
    CHARACTER_NOT_IN_REPERTOIRE,
    UNTRANSLATABLE_CHARACTER,
    HistoryError,
    ServerError,
    ServerStateError,
)


def check_history(status: DatabaseStatus, notes: dict[int, str] | None = None) -> None:
    """Refuse to run anything on an inconsistent history: name the version and the way out
    (and, in ``notes``, why apply did not resume a dirty row by itself)."""
    problems = status.problems
    if not problems:
        return
    first = problems[0]
    more = (
        f" (and {len(problems) - 1} more: run `gordon-migrate status`)" if len(problems) > 1 else ""
    )
    failure_mode = {"failed": "FM-13", "checksum_mismatch": "FM-14"}.get(first.state, "FM-15")
    if first.state == "failed":
        from gordon_migrate.apply import dirty

        why = (notes or {}).get(first.version)
        message = (
            f"migration {first.label} is dirty: its history row has success = false; "
            f"{dirty.cause(first.no_transaction)}. Nothing was run"
            + (f" ({why})" if why else "")
            + f". {dirty.next_step(first.version, first.no_transaction)} ({dirty.RUNBOOK})"
        )
    elif first.state == "checksum_mismatch":
        message = (
            f"migration {first.label} was edited after it was applied: its SHA-384 differs "
            "from the checksum in the history. Nothing was run. Restore the file as applied "
            "and put the change in a new migration (docs/spof-runbook.md, checksum mismatch)"
        )
    else:
        message = (
            f"database {status.database} has migration {first.version:04d} "
            f"({first.description!r}) applied, but this bundle does not contain it: an older "
            "image is being deployed over a newer database. Nothing was run. Deploy the image "
            "that contains it (docs/spof-runbook.md, database ahead of the bundle)"
        )
    raise HistoryError(
        message + more,
        version=first.version,
        file=first.filename,
        failure_mode=failure_mode,
    )


def check_server(status: DatabaseStatus) -> None:
    if status.in_recovery:
        raise ServerStateError(
            f"the server of database {status.database} is a standby (in recovery): it cannot "
            "be migrated. Point DATABASE_URL at the primary",
            failure_mode="FM-11",
        )


def check_writable(status: DatabaseStatus) -> None:
    """On apply's own (writable) session: refuse a database or role that makes every
    transaction read-only, before any lock, instead of failing in the first statement."""
    if status.read_only:
        raise ServerStateError(
            f"database {status.database} is read-only for role {status.user}: "
            "default_transaction_read_only is on (set on the database, the role or the "
            "server), so nothing can be migrated; nothing was run. Point DATABASE_URL at the "
            "writable primary, or reset it (`ALTER DATABASE ... RESET "
            "default_transaction_read_only`) if the read-only setting is a mistake "
            "(docs/spof-runbook.md, FM-11)",
            failure_mode="FM-11",
        )


def check_encoding(conn: Conn, database: str, pending: Sequence[Migration]) -> None:
    """Refuse a pending migration whose text the database cannot store as written.

    Statements are sent as UTF-8 (the connection pins client_encoding); a database in
    another encoding converts them, and a character it has no code for fails, or, in
    SQL_ASCII, is stored as unchecked bytes. The server itself is asked, with the file's
    text, whether the round trip keeps every character.
    """
    encoding = server_encoding(conn)
    if encoding == "UTF8":
        return
    for migration in pending:
        if migration.sql.isascii():
            continue
        kept = encoding != "SQL_ASCII" and _round_trips(conn, migration.sql)
        if not kept:
            sample = next(ch for ch in migration.sql if not ch.isascii())
            raise ServerStateError(
                f"database {database} is encoded {encoding}, which cannot store migration "
                f"{migration.label} as written (it holds {sample!r}, and other characters "
                f"outside {encoding}): nothing was run. Migrate a database created with "
                "ENCODING 'UTF8', or keep the migration within the database's characters",
                version=migration.version,
                file=migration.filename,
                failure_mode="FM-19",
            )


def _round_trips(conn: Conn, text: str) -> bool:
    try:
        with mapped():
            row = conn.execute("SELECT convert_to(%s, 'UTF8')", (text,)).fetchone()
    except ServerError as exc:
        if exc.sqlstate not in (UNTRANSLATABLE_CHARACTER, CHARACTER_NOT_IN_REPERTOIRE):
            raise
        return False
    return row is not None and bytes(row[0]) == text.encode("utf-8")


def check_privileges(conn: Conn, status: DatabaseStatus) -> None:
    """Refuse early when the role obviously cannot migrate (before any lock or DDL)."""
    may = history.privileges(conn)
    if may.superuser:
        return
    missing = []
    if not may.create_database:
        missing.append(f"CREATE on database {status.database}")
    if not may.history:
        missing.append(
            f"SELECT, INSERT, UPDATE on {history.HISTORY_TABLE}"
            if status.history_exists
            else "CREATE on schema public (for the history table)"
        )
    if missing:
        raise ServerStateError(
            f"role {status.user} cannot migrate database {status.database}: it lacks "
            f"{' and '.join(missing)}. Nothing was run. Connect as the migration-privileged "
            "(bootstrap) role; runtime roles never migrate",
            failure_mode="FM-12",
        )


def check_lock_holds(
    conn: Conn,
    status: DatabaseStatus,
    pending: Sequence[Migration],
    bundle: Sequence[Migration],
    budget_ms: int,
    *,
    plans: Sequence[ResolvedPlan] | None = None,
) -> None:
    """Refuse a pending statement predicted to hold a blocking lock (SHARE or stronger) across a
    rewrite or a full scan for longer than its budget (``holds``: read-only, sizes read without
    waiting on any relation lock), judged on ``plans`` (``resolve``) when given."""
    from gordon_migrate.apply import holds

    found = holds.predict(
        conn,
        pending,
        bundle,
        server_version=status.server_version,
        budget_ms=budget_ms,
        plans=plans,
    )
    holds.refuse_long_holds(found)
