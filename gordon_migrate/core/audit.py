"""The audit trail of recovery actions: ``public.gordon_migrate_audit``.

One row per change a recovery command made (a history row marked done or removed, a session
ended): when, who (database role, and the OS user and host of the client that ran the tool),
what, and the state before and after as JSON. The table is the tool's bookkeeping, like the
history table, not part of the Gordon schema: drift-check leaves both out. It is append-only
by convention and has no key or index, so it adds a single relation.
"""

from __future__ import annotations

import getpass
import json
import socket
from typing import Any

from gordon_migrate import __version__
from gordon_migrate.core.db import Conn, mapped
from gordon_migrate.core.errors import DUPLICATE_TABLE, UNIQUE_VIOLATION, ServerError

AUDIT_TABLE = "public.gordon_migrate_audit"

CREATE_AUDIT = """
CREATE TABLE IF NOT EXISTS public.gordon_migrate_audit (
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    action          text NOT NULL,
    version         bigint,
    target_pid      integer,
    db_user         text NOT NULL DEFAULT current_user,
    db_session_user text NOT NULL DEFAULT session_user,
    client_addr     inet DEFAULT inet_client_addr(),
    os_user         text,
    client_host     text,
    tool_version    text NOT NULL,
    reason          text,
    state_before    jsonb,
    state_after     jsonb
)
"""

_INSERT = """
INSERT INTO public.gordon_migrate_audit
    (action, version, target_pid, os_user, client_host, tool_version, reason,
     state_before, state_after)
VALUES (%(action)s, %(version)s, %(target_pid)s, %(os_user)s, %(client_host)s,
        %(tool_version)s, %(reason)s, %(before)s::jsonb, %(after)s::jsonb)
"""


def ensure_table(conn: Conn) -> None:
    """Create the audit table if missing (autocommit; tolerates a concurrent creator)."""
    # A unique violation or a duplicate table: created at the same moment by another session;
    # it exists now.
    try:
        with mapped():
            conn.execute(CREATE_AUDIT)
    except ServerError as exc:
        if exc.sqlstate not in (UNIQUE_VIOLATION, DUPLICATE_TABLE):
            raise


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "?"


def record(
    conn: Conn,
    action: str,
    *,
    version: int | None = None,
    target_pid: int | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the connection's current transaction."""
    conn.execute(
        _INSERT,
        {
            "action": action,
            "version": version,
            "target_pid": target_pid,
            "os_user": os_user(),
            "client_host": socket.gethostname(),
            "tool_version": __version__,
            "reason": reason,
            "before": None if before is None else json.dumps(before, sort_keys=True),
            "after": None if after is None else json.dumps(after, sort_keys=True),
        },
    )
