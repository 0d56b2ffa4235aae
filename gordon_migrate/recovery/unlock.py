"""``unlock``: end the session that holds the migration lock (FM-16), or one that holds a lock
on a Gordon table a migration waits for (FM-17).

``plan_unlock`` finds the session and says what ending it means (read-only); ``end_session``
checks that the very same session (pid and connection start) still qualifies, records an
audit row and runs ``pg_terminate_backend`` on it, in one transaction, then waits for it to go.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from gordon_migrate.apply import locks
from gordon_migrate.apply.interrupts import Interrupted
from gordon_migrate.apply.state import CancelToken
from gordon_migrate.core import audit, sessions
from gordon_migrate.core.db import Conn, connection, mapped
from gordon_migrate.core.dsn import Dsn, one_line
from gordon_migrate.core.errors import INSUFFICIENT_PRIVILEGE, ServerError
from gordon_migrate.recovery import refused

GONE_WAIT_S = 5.0

_TERMINATE = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE pid = %s AND backend_start IS NOT DISTINCT FROM %s AND datname = current_database()
"""


@dataclass(frozen=True)
class UnlockPlan:
    """The session to end, why it qualifies, and the exact statement."""

    database: str
    session: sessions.Session
    holds_migration_lock: bool
    lock_key: int
    warnings: tuple[str, ...]

    @property
    def statement(self) -> str:
        return self.session.terminate_sql

    @property
    def why(self) -> str:
        held = []
        if self.holds_migration_lock:
            held.append(f"the migration lock (advisory lock {self.lock_key})")
        if self.session.relations:
            held.append(f"locks on {', '.join(self.session.relations)}")
        return "holds " + " and ".join(held)


@dataclass(frozen=True)
class UnlockOutcome:
    plan: UnlockPlan
    #: The backend was gone within ``GONE_WAIT_S`` (it is signalled either way).
    gone: bool
    #: The operator stopped the wait for it to exit (the TUI's cancel).
    wait_cancelled: bool = False


def _database(conn: Conn) -> str:
    row = conn.execute("SELECT current_database()::text").fetchone()
    assert row is not None
    return str(row[0])


def _qualifies(session: sessions.Session, holds_lock: bool) -> bool:
    """Only the lock holder, or a transaction holding locks on Gordon tables (a relation lock
    is only ever held by a transaction, whether or not this role may see its start)."""
    return holds_lock or bool(session.relations and (session.xact_start or not session.visible))


def plan_unlock(dsn: Dsn, pid: int | None = None) -> UnlockPlan | None:
    """The session to end: the migration lock's holder (``pid`` None), or ``pid`` when it
    holds that lock or a lock on a Gordon table. ``None`` when nobody holds the lock."""
    with connection(
        dsn, purpose="unlock (plan)", doing="finding the session to end", read_only=True
    ) as conn:
        database = _database(conn)
        key = locks.lock_key(database)
        holder = locks.holder(conn, key)
        if pid is not None:
            wanted = pid
        elif holder is not None:
            wanted = holder.pid
        else:
            return None
        found = sessions.session(conn, wanted)
    if found is None:
        raise refused(f"no session with pid {wanted} in database {database}")
    holds_lock = holder is not None and holder.pid == found.pid
    if not _qualifies(found, holds_lock):
        raise refused(
            f"pid {found.pid} holds neither the migration lock nor a lock on a Gordon table: "
            "unlock ends only those sessions"
        )
    warnings = []
    if found.state == "active" and found.application_name.startswith("gordon-migrate"):
        warnings.append(
            "it is a gordon-migrate runner executing a statement: ending it interrupts its "
            "migration (a no-transaction migration is left dirty, FM-13)"
        )
    if found.xact_start is not None or (found.relations and not found.visible):
        warnings.append(
            "its open transaction is rolled back: the service that owns it sees an error"
        )
    return UnlockPlan(
        database=database,
        session=found,
        holds_migration_lock=holds_lock,
        lock_key=key,
        warnings=tuple(warnings),
    )


def _session_json(session: sessions.Session) -> dict[str, Any]:
    data = asdict(session)
    for name, value in data.items():
        if isinstance(value, datetime):
            data[name] = value.isoformat()
    data["query"] = session.short_query
    return data


def end_session(
    dsn: Dsn,
    plan: UnlockPlan,
    *,
    reason: str | None = None,
    cancel: CancelToken | None = None,
) -> UnlockOutcome:
    """End the planned session if it is still the same one and still qualifies.

    ``cancel`` (from another thread: the TUI) stops the wait for the signalled session to
    exit; cancelled before the signal, nothing is done."""
    pid = plan.session.pid
    token = cancel or CancelToken()
    with connection(dsn, purpose="unlock", doing=f"ending pid {pid}") as conn:
        current = sessions.session(conn, pid)
        if current is None or current.backend_start != plan.session.backend_start:
            raise refused(f"pid {pid} is no longer the session that was shown: it has ended")
        holder = locks.holder(conn, plan.lock_key)
        holds_lock = holder is not None and holder.pid == pid
        if plan.holds_migration_lock and not holds_lock:
            raise refused(f"pid {pid} no longer holds the migration lock")
        if not _qualifies(current, holds_lock):
            raise refused(f"pid {pid} no longer holds a lock that blocks a migration")
        if token.cancelled:
            raise refused(f"ending pid {pid} was cancelled")
        try:
            with mapped():
                audit.ensure_table(conn)
                with conn.transaction():
                    row = conn.execute(_TERMINATE, (pid, current.backend_start)).fetchone()
                    if row is None or not row[0]:
                        raise refused(f"pid {pid} could not be signalled: it has ended")
                    audit.record(
                        conn,
                        "end session",
                        target_pid=pid,
                        reason=reason,
                        before=_session_json(current),
                        after={"terminated": True, "statement": plan.statement},
                    )
        except ServerError as exc:
            if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
                raise
            raise refused(
                f"the connected role may not end pid {pid}: {one_line(dsn.scrub(str(exc)))} "
                "(a superuser may, or a member of pg_signal_backend for a non-superuser session)"
            ) from None
        try:
            gone = _wait_gone(conn, pid, current.backend_start, token)
        except Interrupted:
            return UnlockOutcome(plan=plan, gone=False, wait_cancelled=True)
    return UnlockOutcome(plan=plan, gone=gone)


def _wait_gone(conn: Conn, pid: int, backend_start: datetime | None, cancel: CancelToken) -> bool:
    deadline = time.monotonic() + GONE_WAIT_S
    while True:
        current = sessions.session(conn, pid)
        if current is None or current.backend_start != backend_start:
            return True
        if time.monotonic() >= deadline:
            return False
        cancel.sleep(0.05)


def describe_plan(plan: UnlockPlan, dsn: Dsn) -> str:
    s = plan.session
    lines = [
        f"database {plan.database} ({dsn.redacted})",
        f"session {s.describe()}",
        f"  {s.activity()}",
        f"  {plan.why}",
    ]
    if s.blocking:
        lines.append(f"  blocks pid {', '.join(map(str, s.blocking))} now")
    lines += [f"warning: {w}" for w in plan.warnings]
    lines += [
        "will run, after checking it is still this session (pid and connection start):",
        f"  {plan.statement}",
        f"  plus one audit row in {audit.AUDIT_TABLE}",
    ]
    return "\n".join(lines)


def describe_outcome(outcome: UnlockOutcome) -> str:
    pid = outcome.plan.session.pid
    if outcome.gone:
        state = "it is gone"
    elif outcome.wait_cancelled:
        state = "signalled; you stopped waiting for it to exit"
    else:
        state = f"it had not exited after {GONE_WAIT_S:.0f}s"
    return (
        f"ended pid {pid} ({state}); recorded in {audit.AUDIT_TABLE}. Next: run apply (the deploy)"
    )


def render_json(dsn: Dsn, plan: UnlockPlan | None, outcome: UnlockOutcome | None) -> dict[str, Any]:
    """The session, the statement and, once carried out, the outcome: ``unlock --format json``.
    ``session`` is null when nobody holds the migration lock."""
    return {
        "ok": True,
        "command": "unlock",
        "target": dsn.redacted,
        "database": None if plan is None else plan.database,
        "session": None if plan is None else _session_json(plan.session),
        "holds_migration_lock": None if plan is None else plan.holds_migration_lock,
        "lock_key": None if plan is None else plan.lock_key,
        "warnings": [] if plan is None else list(plan.warnings),
        "statement": None if plan is None else plan.statement,
        "ended": outcome is not None,
        "gone": None if outcome is None else outcome.gone,
        "audit_table": audit.AUDIT_TABLE,
    }
