"""Other sessions as an operator needs to see them: who, from where, since when, doing what,
holding which locks on Gordon tables, blocking whom."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.rows import class_row

from gordon_migrate.db import Conn, one_line
from gordon_migrate.dsn import scrub

QUERY_CHARS = 200

# Relation locks on tables of the Gordon schemas (every non-system schema, as drift-check
# scopes them), held in an open transaction by another session of this database.
_SESSIONS = """
WITH held AS (
    SELECT l.pid,
           array_agg(DISTINCT format('%%I.%%I (%%s)', n.nspname, c.relname, l.mode)) AS relations
    FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.locktype = 'relation' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
      AND c.relkind IN ('r', 'p', 'm')
    GROUP BY l.pid
), waiting AS (
    SELECT w.pid AS waiter, unnest(pg_blocking_pids(w.pid)) AS blocker
    FROM pg_stat_activity w
    WHERE w.datname = current_database() AND w.wait_event_type = 'Lock'
)
SELECT a.pid,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.usename, '') AS username,
       coalesce(host(a.client_addr), 'local socket') AS client,
       a.backend_start, a.xact_start, coalesce(a.state, '') AS state, a.state_change,
       coalesce(a.wait_event_type || ':' || a.wait_event, '') AS wait,
       coalesce(a.query, '') AS query,
       now() AS observed_at,
       coalesce(h.relations, '{}') AS relations,
       coalesce((SELECT array_agg(DISTINCT x.waiter ORDER BY x.waiter) FROM waiting x
                 WHERE x.blocker = a.pid), '{}') AS blocking
FROM pg_stat_activity a
LEFT JOIN held h ON h.pid = a.pid
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
"""

_BLOCKERS = (
    _SESSIONS
    + """
  AND (h.pid IS NOT NULL AND a.xact_start <= now() - make_interval(secs => %(min_age_s)s)
       OR EXISTS (SELECT 1 FROM waiting x WHERE x.blocker = a.pid))
ORDER BY a.xact_start NULLS LAST, a.pid
"""
)

_ONE = _SESSIONS + "  AND a.pid = %(pid)s\n"

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

    def describe(self) -> str:
        """``pid 42 (gordon_trading app, user u, from 10.0.0.7, connected since ...)``."""
        since = self.backend_start.isoformat(timespec="seconds") if self.backend_start else "?"
        app = self.application_name or "no application_name"
        return (
            f"pid {self.pid} ({app}, user {self.username or '?'}, from {self.client}, "
            f"connected since {since})"
        )

    def activity(self) -> str:
        """``idle in transaction for 3m12s, transaction open for 3m15s, last statement: ...``."""
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


def blockers(conn: Conn, min_age_s: float) -> list[Session]:
    """Sessions whose transaction has held a lock on a Gordon table for ``min_age_s`` or
    more, and sessions blocking another one right now; oldest transaction first."""
    with conn.cursor(row_factory=class_row(Session)) as cur:
        cur.execute(_BLOCKERS, {"min_age_s": min_age_s})
        return cur.fetchall()
