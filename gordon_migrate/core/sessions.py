"""Other sessions as an operator needs to see them: who, from where, since when, doing what,
holding which locks on Gordon tables, blocking whom.

Locks come from ``pg_locks`` and ``pg_blocking_pids()``, which every role may read. What a
session is doing comes from ``pg_stat_activity``, which shows a role without
``pg_read_all_stats`` only the pid, user and application of other roles' sessions (client,
start times, state and statement are hidden). Such a session is still found by its locks;
whether its transaction outlasts lock_timeout is then told by watching it: a lock held by the
same transaction (virtual transaction id) at two observations ``min_age_s`` apart.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from psycopg.rows import class_row

from gordon_migrate.core.db import Conn, connection
from gordon_migrate.core.dsn import Dsn, one_line, scrub

QUERY_CHARS = 200
#: The longest ``blockers`` watches hidden sessions for, whatever lock_timeout is.
MAX_WATCH_S = 30.0
#: What reveals other roles' sessions in pg_stat_activity.
STATS_ROLE = "pg_read_all_stats"

# Relation locks on tables of the Gordon schemas (every non-system schema, as drift-check
# scopes them), held in an open transaction by another session of this database.
_SESSIONS = """
WITH held AS (
    SELECT l.pid,
           array_agg(DISTINCT format('%%I.%%I (%%s)', n.nspname, c.relname, l.mode)) AS relations,
           min(l.virtualtransaction) AS transaction
    FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.locktype = 'relation' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
      AND c.relkind IN ('r', 'p', 'm')
    GROUP BY l.pid
), waiting AS (
    -- pg_locks, not pg_stat_activity's wait_event: every role sees who waits on a lock.
    SELECT DISTINCT l.pid AS waiter, unnest(pg_blocking_pids(l.pid)) AS blocker
    FROM pg_locks l
    JOIN pg_stat_activity w ON w.pid = l.pid
    WHERE NOT l.granted AND w.datname = current_database()
)
SELECT a.pid,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.usename, '') AS username,
       CASE WHEN v.visible THEN coalesce(host(a.client_addr), 'local socket') ELSE '' END
           AS client,
       a.backend_start, a.xact_start, coalesce(a.state, '') AS state, a.state_change,
       coalesce(a.wait_event_type || ':' || a.wait_event, '') AS wait,
       CASE WHEN v.visible THEN coalesce(a.query, '') ELSE '' END AS query,
       now() AS observed_at,
       coalesce(h.relations, '{}') AS relations,
       coalesce((SELECT array_agg(DISTINCT x.waiter ORDER BY x.waiter) FROM waiting x
                 WHERE x.blocker = a.pid), '{}') AS blocking,
       v.visible,
       coalesce(h.transaction, '') AS transaction,
       a.pid = pg_backend_pid() AS is_self
FROM pg_stat_activity a
CROSS JOIN LATERAL (
    SELECT coalesce(pg_has_role(a.usesysid, 'USAGE'), false)
           OR pg_has_role('pg_read_all_stats', 'USAGE') AS visible
) v
LEFT JOIN held h ON h.pid = a.pid
WHERE a.datname = current_database()
"""

_BLOCKERS = (
    _SESSIONS
    + """
  AND a.pid <> pg_backend_pid()
  AND (h.pid IS NOT NULL
       AND (a.xact_start <= now() - make_interval(secs => %(min_age_s)s) OR NOT v.visible)
       OR EXISTS (SELECT 1 FROM waiting x WHERE x.blocker = a.pid))
ORDER BY a.xact_start NULLS LAST, a.pid
"""
)

_ONE = _SESSIONS + "  AND a.pid = %(pid)s AND a.pid <> pg_backend_pid()\n"

# The session holding a session-level advisory lock of this database (ourselves included).
_ADVISORY_HOLDER = (
    _SESSIONS
    + """
  AND a.pid = (SELECT l.pid FROM pg_locks l
               WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
                       SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid = %(classid)s AND l.objid = %(objid)s AND l.objsubid = 1
               LIMIT 1)
"""
)

_PASSWORD_WORD = re.compile(r"\bpassword\b", re.IGNORECASE)
# Scanner tokens of a string constant (any quoting: '', E'', U&'', $$, $tag$, B'', X'').
_STRING_TOKENS = frozenset({"SCONST", "USCONST", "BCONST", "XCONST"})
MASKED_LITERAL = "'***'"


def redact_passwords(query: str) -> str:
    """``query`` with every string constant of a password clause replaced by ``'***'``.

    Postgres's own scanner (pglast's) finds the constants whatever their quoting (``'...'``,
    ``E'...'`` with escaped quotes, ``U&'...' UESCAPE '!'``, ``$$...$$``, ``$tag$...$tag$``)
    after the word ``password`` (``ALTER ROLE ... PASSWORD``, ``OPTIONS (password '...')``).
    Fails closed: text the scanner rejects (a statement truncated by
    ``track_activity_query_size``, an unterminated quote) is cut after its first
    ``password``.
    """
    first = _PASSWORD_WORD.search(query)
    if first is None:
        return query
    from pglast.parser import ParseError, scan

    try:
        tokens = scan(query)
    except ParseError:
        return query[: first.end()] + " " + MASKED_LITERAL + " ..."
    out: list[str] = []
    done = 0
    after_password = False
    for token in tokens:
        text = query[token.start : token.end + 1]
        if after_password and token.name in _STRING_TOKENS:
            out += [query[done : token.start], MASKED_LITERAL]
            done = token.end + 1
        elif not (after_password and token.name == "UESCAPE"):
            after_password = text.lower() == "password"
    return "".join(out) + query[done:]


@dataclass(frozen=True)
class Session:
    """A backend of this database, as pg_stat_activity and pg_locks show it."""

    pid: int
    application_name: str
    username: str
    client: str
    backend_start: datetime | None
    xact_start: datetime | None
    state: str
    state_change: datetime | None
    wait: str
    query: str
    observed_at: datetime
    #: Gordon tables it holds a lock on, as ``schema.table (Mode)``.
    relations: list[str]
    #: Sessions waiting on a lock it holds, right now.
    blocking: list[int]
    #: False when pg_stat_activity hides its details from this role (see ``STATS_ROLE``).
    visible: bool = True
    #: The virtual transaction holding its Gordon table locks (``''``: none).
    transaction: str = ""
    #: For a hidden session: seen holding its locks in one transaction for at least this.
    held_at_least: timedelta | None = None
    #: True for the session that asked (the holder of a lock may be ourselves).
    is_self: bool = False

    @property
    def terminate_sql(self) -> str:
        return f"SELECT pg_terminate_backend({self.pid});"

    @property
    def transaction_age(self) -> timedelta | None:
        return self.observed_at - self.xact_start if self.xact_start else None

    @property
    def state_age(self) -> timedelta | None:
        return self.observed_at - self.state_change if self.state_change else None

    @property
    def short_query(self) -> str:
        """The current (or last) statement, on one line, passwords redacted, truncated."""
        text = scrub(redact_passwords(one_line(self.query)))
        return text if len(text) <= QUERY_CHARS else text[: QUERY_CHARS - 3] + "..."

    def describe(self, *, with_state: bool = False) -> str:
        """``pid 42 (gordon_trading app, user u, from 10.0.0.7, connected since ...)``, and
        its state (``, idle in transaction``) ``with_state`` (a lock holder in an error line)."""
        app = self.application_name or "no application_name"
        who = f"pid {self.pid} ({app}, user {self.username or '?'}"
        if not self.visible:
            if with_state:
                return (
                    f"{who}; its client, start and state are hidden from this role: "
                    f"membership in {STATS_ROLE} shows them)"
                )
            return f"{who}; client hidden)"
        since = self.backend_start.isoformat(timespec="seconds") if self.backend_start else "?"
        state = f", {self.state or 'state unknown'}" if with_state else ""
        return f"{who}, from {self.client}, connected since {since}{state})"

    def activity(self) -> str:
        """``idle in transaction for 3m12s, transaction open for 3m15s, last statement: ...``."""
        if not self.visible:
            parts = [f"state, start and statement hidden (needs {STATS_ROLE})"]
            if self.held_at_least is not None:
                parts.append(
                    f"the same transaction held its locks for at least {age(self.held_at_least)}"
                )
            return ", ".join(parts)
        parts = [f"{self.state or 'state unknown'} for {age(self.state_age)}"]
        if self.xact_start is not None:
            parts.append(f"transaction open for {age(self.transaction_age)}")
        if self.wait and not self.wait.startswith("Client:"):  # idle: waiting for its client
            parts.append(f"waiting on {self.wait}")
        verb = "statement" if self.state == "active" else "last statement"
        if self.short_query:
            parts.append(f"{verb}: {self.short_query}")
        return ", ".join(parts)


def age(delta: timedelta | None) -> str:
    """``3m12s``, ``2h05m``, ``0.4s``."""
    if delta is None:
        return "?"
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def session(conn: Conn, pid: int) -> Session | None:
    """The backend ``pid`` of this database, if it exists."""
    with conn.cursor(row_factory=class_row(Session)) as cur:
        cur.execute(_ONE, {"pid": pid})
        return cur.fetchone()


def advisory_holder(conn: Conn, classid: int, objid: int) -> Session | None:
    """The session holding the advisory lock (``classid``, ``objid``) of this database."""
    with conn.cursor(row_factory=class_row(Session)) as cur:
        cur.execute(_ADVISORY_HOLDER, {"classid": classid, "objid": objid})
        return cur.fetchone()


def blockers(conn: Conn, min_age_s: float) -> list[Session]:
    """Sessions whose transaction has held a lock on a Gordon table for ``min_age_s`` or
    more, and sessions blocking another one right now; oldest transaction first.

    A session whose start this role cannot see is kept when the same transaction still holds
    its locks ``min_age_s`` later (at most ``MAX_WATCH_S``): this call then takes that long.
    """
    first = _blockers(conn, min_age_s)
    hidden = {(s.pid, s.transaction) for s in first if not s.visible and not s.blocking}
    if not hidden:
        return first
    watched = min(min_age_s, MAX_WATCH_S)
    time.sleep(watched)
    found = []
    for s in _blockers(conn, min_age_s):
        if s.visible or s.blocking:
            found.append(s)
        elif (s.pid, s.transaction) in hidden:
            found.append(replace(s, held_at_least=timedelta(seconds=watched)))
    return found


def find_blockers(dsn: Dsn, min_age_s: float, *, purpose: str, doing: str) -> list[Session]:
    """``blockers`` on a read-only connection of its own."""
    with connection(dsn, purpose=purpose, doing=doing, read_only=True) as conn:
        return blockers(conn, min_age_s)


def _blockers(conn: Conn, min_age_s: float) -> list[Session]:
    with conn.cursor(row_factory=class_row(Session)) as cur:
        cur.execute(_BLOCKERS, {"min_age_s": min_age_s})
        return cur.fetchall()


def hidden_hint(found: list[Session], role: str) -> str | None:
    """What to grant when some sessions' details are hidden from ``role``; else None."""
    if all(s.visible for s in found):
        return None
    return (
        f"role {role} sees only the pid, user, application and locks of other roles' "
        f"sessions: membership in {STATS_ROLE} (GRANT {STATS_ROLE} TO {role}) shows their "
        "client, start, state and statement"
    )
