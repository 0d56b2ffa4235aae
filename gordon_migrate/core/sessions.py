"""Other sessions as an operator needs to see them: who, from where, since when, doing what,
holding which locks on Gordon tables, blocking whom.

Locks come from ``pg_locks`` and ``pg_blocking_pids()``, which every role may read. What a
session is doing comes from ``pg_stat_activity``, which shows a role without
``pg_read_all_stats`` only the pid, user and application of other roles' sessions (client,
start times, state and statement are hidden). Such a session is still found by its locks;
whether its transaction outlasts lock_timeout is then told by watching it: a lock held by the
same transaction (virtual transaction id) at two observations ``min_age_s`` apart.

One model for every reader: a ``Session``, and a ``Holder`` (a session with one lock it
holds or waits for: who blocked a statement, a lock plan's conflicting sessions), described
by ``Session.describe``; their SQL is ``gordon_migrate/core/queries/*.sql``, loaded by name.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from psycopg.rows import class_row

from gordon_migrate.core import queries
from gordon_migrate.core.db import Conn, connection
from gordon_migrate.core.dsn import Dsn, one_line, scrub

QUERY_CHARS = 200
#: The longest ``blockers`` watches hidden sessions for, whatever lock_timeout is.
MAX_WATCH_S = 30.0
#: What reveals other roles' sessions in pg_stat_activity.
STATS_ROLE = "pg_read_all_stats"

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
    #: Gordon tables it holds a lock on, as ``schema.table (Mode)`` (the session queries; a
    #: ``Holder``'s lock is its own fields).
    relations: list[str] = field(default_factory=list)
    #: Sessions waiting on a lock it holds, right now (the session queries).
    blocking: list[int] = field(default_factory=list)
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

    def describe(
        self,
        *,
        with_state: bool = False,
        brief: bool = False,
        unknown: str | None = None,
        with_age: bool = True,
    ) -> str:
        """The session to a person, in the form its reader needs:

        - ``pid 42 (gordon_trading app, user u, from 10.0.0.7, connected since ...)``: who it
          is (lists of sessions, unlock); ``with_state`` adds its state (``, idle in
          transaction``: the migration lock's holder in an error line);
        - a ``Holder``: ``pid 42 (app, user u, from 10.0.0.7, idle in transaction, in a
          transaction since ...) holding AccessShareLock on trading.fills`` (who blocked a
          migration statement: apply's error line);
        - a ``Holder``, ``brief``: ``pid 42 (app, idle in transaction, transaction open 49s)
          holds AccessShareLock on trading.fills`` (a lock plan's holders); ``unknown`` stands
          for an empty application or state instead of ``no application_name`` and ``state
          hidden``; ``with_age`` False leaves the transaction's age out.
        """
        app = self.application_name or "no application_name"
        if isinstance(self, Holder) and brief:
            about = [
                self.application_name or unknown or "no application_name",
                self.state or unknown or "state hidden",
            ]
            open_for = self.transaction_age
            if with_age and open_for is not None:
                about.append(f"transaction open {open_for.total_seconds():.0f}s")
            verb = "holds" if self.granted else "waits for"
            return f"pid {self.pid} ({', '.join(about)}) {verb} {self.mode} on {self.relation}"
        who = f"pid {self.pid} ({app}, user {self.username or '?'}"
        if isinstance(self, Holder):
            holding = f"holding {self.mode} on {self.relation}"
            if not self.visible:
                return (
                    f"{who}; state hidden: the migration role needs {STATS_ROLE} to see it) "
                    f"{holding}"
                )
            since = (
                f", in a transaction since {self.xact_start.isoformat(timespec='seconds')}"
                if self.xact_start
                else ""
            )
            return f"{who}, from {self.client}, {self.state}{since}) {holding}"
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


@dataclass(frozen=True, kw_only=True)
class Holder(Session):
    """A session with one lock it holds (``granted``) or waits for, as ``pg_locks`` shows it."""

    #: ``schema.table``, or the lock type (``transactionid``...) of a lock on no relation.
    relation: str
    mode: str
    granted: bool

    @property
    def xact_age_s(self) -> float | None:
        """How long its transaction has been open, in seconds (None: none, or hidden)."""
        open_for = self.transaction_age
        return None if open_for is None else open_for.total_seconds()

    def fields(self) -> dict[str, object]:
        """The holder as log fields."""
        return {
            "pid": self.pid,
            "application": self.application_name,
            "user": self.username,
            "client": self.client if self.visible else None,
            "state": self.state if self.visible else None,
            "xact_start": self.xact_start.isoformat() if self.xact_start else None,
            "relation": self.relation,
            "mode": self.mode,
        }


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


def _sessions(conn: Conn, query: str, params: dict[str, object]) -> list[Session]:
    with conn.cursor(row_factory=class_row(Session)) as cur:
        cur.execute(queries.load(query), params)
        return cur.fetchall()


def _holders(conn: Conn, query: str, params: dict[str, object]) -> list[Holder]:
    with conn.cursor(row_factory=class_row(Holder)) as cur:
        cur.execute(queries.load(query), params)
        return cur.fetchall()


def session(conn: Conn, pid: int) -> Session | None:
    """The backend ``pid`` of this database, if it exists (never the asking session)."""
    found = _sessions(conn, "session", {"pid": pid})
    return found[0] if found else None


def advisory_holder(conn: Conn, classid: int, objid: int) -> Session | None:
    """The session holding the advisory lock (``classid``, ``objid``) of this database."""
    found = _sessions(conn, "advisory_holder", {"classid": classid, "objid": objid})
    return found[0] if found else None


def blockers(conn: Conn, min_age_s: float) -> list[Session]:
    """Sessions whose transaction has held a lock on a Gordon table for ``min_age_s`` or
    more, and sessions blocking another one right now; oldest transaction first.

    A session whose start this role cannot see is kept when the same transaction still holds
    its locks ``min_age_s`` later (at most ``MAX_WATCH_S``): this call then takes that long.
    """
    first = _sessions(conn, "blockers", {"min_age_s": min_age_s})
    hidden = {(s.pid, s.transaction) for s in first if not s.visible and not s.blocking}
    if not hidden:
        return first
    watched = min(min_age_s, MAX_WATCH_S)
    time.sleep(watched)
    found = []
    for s in _sessions(conn, "blockers", {"min_age_s": min_age_s}):
        if s.visible or s.blocking:
            found.append(s)
        elif (s.pid, s.transaction) in hidden:
            found.append(replace(s, held_at_least=timedelta(seconds=watched)))
    return found


def find_blockers(dsn: Dsn, min_age_s: float, *, purpose: str, doing: str) -> list[Session]:
    """``blockers`` on a read-only connection of its own."""
    with connection(dsn, purpose=purpose, doing=doing, read_only=True) as conn:
        return blockers(conn, min_age_s)


def relation_holders(conn: Conn, relations: list[str]) -> list[Holder]:
    """Other sessions holding granted locks on ``relations`` (names as ``to_regclass`` reads
    them; unknown ones skipped), one per lock, at most 20."""
    if not relations:
        return []
    return _holders(conn, "relation_holders", {"relations": relations})


def waited_for(conn: Conn, pid: int) -> list[Holder]:
    """The sessions that backend ``pid`` is waiting for, with one lock each holds."""
    return _holders(conn, "waited_for", {"pid": pid})


def lock_holders(conn: Conn, relations: list[str]) -> list[Holder]:
    """Other sessions of this database holding or queued for a lock on ``relations``
    (``schema.table``), one per lock, by pid and relation."""
    return _holders(conn, "lock_holders", {"relations": relations})


def hidden_hint(found: list[Session], role: str) -> str | None:
    """What to grant when some sessions' details are hidden from ``role``; else None."""
    if all(s.visible for s in found):
        return None
    return (
        f"role {role} sees only the pid, user, application and locks of other roles' "
        f"sessions: membership in {STATS_ROLE} (GRANT {STATS_ROLE} TO {role}) shows their "
        "client, start, state and statement"
    )
