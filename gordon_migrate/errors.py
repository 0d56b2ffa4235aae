"""The one exception hierarchy of the core.

Every expected failure is a ``GordonError``: the CLI prints ``str(error)`` as a single line
and exits 1. Messages say what failed, on which migration or object, and what to do next; they
never contain a password (DSNs are redacted before they reach a message).
"""

from __future__ import annotations


class GordonError(Exception):
    """An expected failure: reported on one line, exit code 1."""

    #: Short, stable name of the failure kind (used by JSON output and the runbook).
    kind = "error"


class ConfigError(GordonError):
    """Bad or missing configuration (no DSN, malformed DSN, bad option value)."""

    kind = "config"


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


class HistoryError(GordonError):
    """The history table disagrees with the bundle (dirty row, checksum, unknown version)."""

    kind = "history"


class LockWaitError(GordonError):
    """The migration advisory lock could not be taken in time."""

    kind = "lock_wait"


class MigrationError(GordonError):
    """A migration failed on the server (SQL error, lock_timeout, statement_timeout)."""

    kind = "migration"


class InterruptedApplyError(GordonError):
    """SIGTERM or SIGINT stopped the run; the message says what became of the migration."""

    kind = "interrupted"


class ServerSilentError(GordonError):
    """The server stopped answering (a partition, a black-holed connection) mid-run."""

    kind = "server_silent"


class LintError(GordonError):
    """A pending migration has a lock hazard or contract break (``gordon-migrate lint``)."""

    kind = "lint"
