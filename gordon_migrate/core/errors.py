"""The one exception hierarchy of the core.

Every expected failure is a ``GordonError``: the CLI prints ``str(error)`` as a single line
and exits 1. Messages say what failed, on which migration or object, and what to do next; they
never contain a password (DSNs are redacted before they reach a message).

Errors also carry what they are about as data (``fields()``): the migration, file and line, the
server's SQLSTATE, the relation, the blocking session and the runbook's failure mode. The JSON
error output includes them, and ``diagnose`` names failure modes from them, not from the text.

``ServerError`` is the other kind: a psycopg error as the connection layer (``core.db``, the one
place that sees psycopg's exceptions) translates it, for the caller that handles it. It is not
a ``GordonError``: its text is the server's own, neither redacted nor in the tool's words.
"""

from __future__ import annotations

FieldValue = str | int

# SQLSTATEs that callers of ``ServerError`` tell apart.
READ_ONLY_TRANSACTION = "25006"
UNTRANSLATABLE_CHARACTER = "22P05"
CHARACTER_NOT_IN_REPERTOIRE = "22021"
UNIQUE_VIOLATION = "23505"
INSUFFICIENT_PRIVILEGE = "42501"
DUPLICATE_TABLE = "42P07"
DUPLICATE_DATABASE = "42P04"
DISK_FULL = "53100"
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"


class ServerError(Exception):
    """What the server (or libpq) answered to a round trip that failed, as data.

    ``str()`` is psycopg's text of the error, unchanged (scrub it before showing it). The
    rest is the server's report when there is one: ``primary`` message, ``detail``, ``hint``,
    the 1-based character ``position`` in the statement; ``lost`` says the session is gone
    (the backend ended, the socket closed) rather than a statement failed. Whether a watchdog
    cut a silent server is the connection's to say (``db.silent_for``), not the error's.
    """

    def __init__(
        self,
        text: str,
        *,
        sqlstate: str | None = None,
        primary: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        lost: bool = False,
    ) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate
        self.primary = primary
        self.detail = detail
        self.hint = hint
        self.position = position
        self.lost = lost


class GordonError(Exception):
    """An expected failure: reported on one line, exit code 1."""

    #: Short, stable name of the failure kind (used by JSON output and the runbook).
    kind = "error"
    #: The runbook failure mode (``FM-NN``) of every error of this class, if there is one.
    failure_mode_of_kind: str | None = None

    def __init__(
        self,
        message: str,
        *,
        version: int | None = None,
        file: str | None = None,
        line: int | None = None,
        sqlstate: str | None = None,
        relation: str | None = None,
        blocker: int | None = None,
        failure_mode: str | None = None,
    ) -> None:
        super().__init__(message)
        self.version = version
        self.file = file
        self.line = line
        self.sqlstate = sqlstate
        self.relation = relation
        #: The pid of the session that blocked us (a lock holder), when one is known.
        self.blocker = blocker
        self.failure_mode = failure_mode or self.failure_mode_of_kind

    def fields(self) -> dict[str, FieldValue]:
        """What the error is about, as data: only the fields that are known."""
        values: dict[str, FieldValue | None] = {
            "version": self.version,
            "file": self.file,
            "line": self.line,
            "sqlstate": self.sqlstate,
            "relation": self.relation,
            "blocker": self.blocker,
            "failure_mode": self.failure_mode,
        }
        return {name: value for name, value in values.items() if value is not None}


class InternalError(GordonError):
    """A bug caught by the core's own checks (a function called in a state it must not be)."""

    kind = "internal"
    failure_mode_of_kind = "FM-28"


class ConfigError(GordonError):
    """Bad or missing configuration (no DSN, malformed DSN, bad option value)."""

    kind = "config"


class ScratchError(ConfigError):
    """No scratch server to rehearse on: the embedded one cannot start, or the one given by
    flag cannot be reached or will not make a scratch database."""

    kind = "scratch"
    failure_mode_of_kind = "FM-35"


class ConnectError(GordonError):
    """The server could not be reached or refused the connection."""

    kind = "connect"


class ConnectionLostError(GordonError):
    """The connection died while working (backend terminated, server restarted)."""

    kind = "connection_lost"


class QueryError(GordonError):
    """A statement failed on the server in a way no caller expected (its SQLSTATE says why)."""

    kind = "query"


class ServerStateError(GordonError):
    """The server cannot be migrated as it is (a standby, a role lacking privileges)."""

    kind = "server_state"


class BundleError(GordonError):
    """The migration bundle itself is malformed (file name, duplicate version, encoding)."""

    kind = "bundle"
    failure_mode_of_kind = "FM-03"


class HistoryError(GordonError):
    """The history table disagrees with the bundle (dirty row, checksum, unknown version)."""

    kind = "history"


class LockWaitError(GordonError):
    """The migration advisory lock could not be taken in time."""

    kind = "lock_wait"
    failure_mode_of_kind = "FM-16"


class MigrationError(GordonError):
    """A migration failed on the server (SQL error, lock_timeout, statement_timeout)."""

    kind = "migration"


class InterruptedApplyError(GordonError):
    """SIGTERM or SIGINT stopped the run; the message says what became of the migration."""

    kind = "interrupted"
    failure_mode_of_kind = "FM-30"


class ServerSilentError(GordonError):
    """The server stopped answering (a partition, a black-holed connection) mid-run."""

    kind = "server_silent"
    failure_mode_of_kind = "FM-29"


class LintError(GordonError):
    """apply refuses a pending migration before any lock: a lock hazard or contract break
    (``gordon-migrate lint``), or a lock predicted to be held over its budget."""

    kind = "lint"
    failure_mode_of_kind = "FM-34"


class DriftError(GordonError):
    """drift-check or fixtures could not do their job (fixtures missing or corrupt, catalogs
    unreadable, a NOTIFY channel that cannot be determined statically at build time)."""

    kind = "drift"


class RecoveryError(GordonError):
    """A recovery command refused or could not do its job (nothing was changed unless the
    message says so)."""

    kind = "recovery"


class SyncStandbyError(GordonError):
    """A commit waited for a synchronous standby that did not confirm it in time."""

    kind = "sync_standby"
    failure_mode_of_kind = "FM-32"
