"""A migration's statement that failed on the server, in words: where, why (by SQLSTATE), what
was undone, what to do next, and the runbook's failure mode.
"""

from __future__ import annotations

from gordon_migrate.apply.options import MigrationSettings
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.dsn import Dsn, one_line
from gordon_migrate.core.durations import format_ms
from gordon_migrate.core.errors import (
    DISK_FULL,
    INSUFFICIENT_PRIVILEGE,
    QUERY_CANCELED,
    READ_ONLY_TRANSACTION,
    MigrationError,
    ServerError,
)
from gordon_migrate.sql.split import Statement


class StatementFailed(Exception):
    def __init__(self, statement: Statement, error: ServerError) -> None:
        super().__init__(str(error))
        self.statement = statement
        self.error = error

    def line(self, sql: str) -> int:
        """Line in the file: the statement's start, refined by the server's error position."""
        offset = self.statement.start
        position = self.error.position
        if position is not None:
            offset += max(position - 1, 0)
        return sql.count("\n", 0, offset) + 1


def migration_error(
    dsn: Dsn,
    migration: Migration,
    failed: StatementFailed,
    settings: MigrationSettings,
    invalid_index: str | None = None,
) -> MigrationError:
    exc = failed.error
    state = exc.sqlstate or "?????"
    primary = one_line(dsn.scrub(exc.primary or str(exc)))
    where = f"{migration.label} line {failed.line(migration.sql)}"
    if invalid_index is not None:
        undone = (
            f"it ran outside a transaction and left the INVALID index {invalid_index} behind "
            "(its history row is dirty): once the cause is gone, re-run apply, which drops "
            "that index concurrently and builds it again by itself (by hand instead: "
            f"`DROP INDEX CONCURRENTLY IF EXISTS {invalid_index};`, then "
            f"`gordon-migrate repair {migration.version} --undone`; docs/spof-runbook.md, FM-31)"
        )
    elif migration.no_transaction:
        undone = (
            "it ran outside a transaction: earlier statements of it may have taken effect and "
            "its history row is dirty; finish or undo by hand, then "
            f"`gordon-migrate repair {migration.version}`"
        )
    else:
        undone = "it was rolled back (nothing of it applied); earlier migrations stay applied"
    mode = _failure_mode(state, invalid_index)
    if state == QUERY_CANCELED and _by_another_session(exc):
        lead = (
            f"migration {where} was cancelled by another session (pg_cancel_backend or a "
            f"cancel request; the server does not say which pid) (SQLSTATE {state}: {primary})"
        )
        advice = (
            "find out who cancels the migration's session (an operator, a watchdog job "
            "killing long queries) and re-run apply when that has stopped"
        )
        mode = "FM-30" if invalid_index is None else mode
    elif state == QUERY_CANCELED:
        lead = (
            f"migration {where} was cancelled by statement_timeout="
            f"{format_ms(settings.statement_timeout_ms)} (SQLSTATE {state}: {primary})"
        )
        advice = (
            "raise --statement-timeout (or the migration's `-- gordon:statement-timeout`) if "
            "this is expected, or make the migration cheaper"
        )
    elif state == DISK_FULL:
        lead = (
            f"migration {where} failed: the database's disk is full (SQLSTATE {state}: {primary})"
        )
        advice = (
            "free or grow the volume (a rewrite needs about the table's size again), "
            "then re-run apply"
        )
    elif state == READ_ONLY_TRANSACTION:
        lead = (
            f"migration {where} failed: the database refuses writes (SQLSTATE {state}: {primary})"
        )
        advice = (
            "point DATABASE_URL at the writable primary; a standby or a database with "
            "default_transaction_read_only cannot be migrated"
        )
    elif state == INSUFFICIENT_PRIVILEGE:
        lead = f"migration {where} failed: SQLSTATE {state}: {primary}"
        advice = "connect as the migration-privileged (bootstrap) role"
    else:
        lead = f"migration {where} failed: SQLSTATE {state}: {primary}"
        for extra in (exc.detail, exc.hint):
            if extra:
                lead += f" ({one_line(dsn.scrub(extra))})"
        advice = (
            "fix the migration or the state it expects; if it is applied elsewhere, fix forward "
            "with a new migration"
        )
    return MigrationError(
        f"{lead}; {undone}; {advice}",
        version=migration.version,
        file=migration.filename,
        line=failed.line(migration.sql),
        sqlstate=exc.sqlstate,
        relation=invalid_index,
        failure_mode=mode,
    )


def _by_another_session(exc: ServerError) -> bool:
    """A cancel the server names as a user request (pg_cancel_backend, a client's cancel
    request), not its statement_timeout: our own cancels end as ``Interrupted`` before this.
    Read from the message's English text: a translated server (lc_messages) reads as
    statement_timeout, the old default."""
    return "user request" in (exc.primary or "")


def _failure_mode(sqlstate: str, invalid_index: str | None) -> str:
    """The runbook's failure mode of a migration's SQL error."""
    if invalid_index is not None:
        return "FM-31"
    return _MODE_OF_SQLSTATE.get(sqlstate, "FM-19")


# The runbook's failure modes of a migration that failed on the server, by SQLSTATE; FM-19 (an
# SQL error in the migration) for every other state.
_MODE_OF_SQLSTATE = {
    QUERY_CANCELED: "FM-18",
    INSUFFICIENT_PRIVILEGE: "FM-12",
    DISK_FULL: "FM-25",
    READ_ONLY_TRANSACTION: "FM-11",
}
