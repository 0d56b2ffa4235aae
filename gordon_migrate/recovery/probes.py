"""The read-only probes of the recovery procedure, one per step of docs/spof-runbook.md.

Every probe takes a ``Target`` and returns a ``ProbeResult``; it opens its own connection
(read-only), so the TUI can run each one alone in a worker thread. A probe never raises for
what it finds: a problem is a result naming the failure modes that match, and a probe that
cannot run (no database URL, no connection, no bundle) says so in a ``not_run`` result.

Where a probe repeats a check apply makes (connect, primary, privileges, history) it calls the
engine's own check and matches the engine's message against the runbook's symptom column, so
``diagnose`` names a failure mode exactly when apply would print its symptom. The other
probes look at what apply cannot see afterwards and name their failure modes themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from gordon_migrate.apply import locks, status
from gordon_migrate.apply.options import DEFAULT_BLOCKER_AGE_MS
from gordon_migrate.apply.refusals import (
    check_history,
    check_privileges,
    check_server,
    check_writable,
)
from gordon_migrate.core import sessions, settings
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import (
    Conn,
    connect,
    connection,
    mapped,
    mapped_error,
    server_facts,
    silent_for,
)
from gordon_migrate.core.dsn import Dsn, one_line, scrub
from gordon_migrate.core.durations import format_ms
from gordon_migrate.core.errors import (
    INSUFFICIENT_PRIVILEGE,
    GordonError,
    ServerError,
    SyncStandbyError,
)
from gordon_migrate.recovery import runbook

Status = Literal["ok", "warning", "problem", "not_run"]

# Failure modes named by probes that look at what the engine's messages do not cover.
FM_LOCK_HELD = "FM-16"
FM_TABLE_LOCK = "FM-17"
#: What stops apply on a pending migration and leaves no trace in the database.
FM_PENDING = ("FM-17", "FM-18", "FM-19", "FM-20", "FM-34", "FM-35")
FM_DRIFT = {"schema": "FM-21", "grants": "FM-22", "column_grants": "FM-23", "notify": "FM-24"}

MAX_DETAILS = 20
PURPOSE = "diagnose"


@dataclass(frozen=True)
class Target:
    """What the probes examine: what the run points at (a part that could not be resolved is
    kept as its error, for the ``config`` probe to report) and what diagnose was asked."""

    run: settings.Target
    #: Transactions holding Gordon table locks longer than this block a migration's DDL.
    blocker_age_ms: int = DEFAULT_BLOCKER_AGE_MS
    #: The apply's log (its last error line is matched against the runbook), if given.
    apply_log: str | None = None
    #: None: the URL's ``connect_timeout``, else the default (``db.connect_timeout_of``).
    connect_timeout_s: int | None = None

    @property
    def dsn(self) -> Dsn | None:
        return self.run.dsn

    @property
    def bundle(self) -> tuple[Migration, ...] | None:
        return self.run.bundle

    @property
    def fixtures_dir(self) -> Path | None:
        """drift-check fixtures (default: the bundled ones)."""
        return self.run.fixtures_dir


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe: its step in the runbook, what it found, and the failure modes
    that match (ids into the runbook's table)."""

    name: str
    step: int
    title: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    failure_modes: tuple[str, ...] = ()
    #: The runbook heading of the step (the failure modes carry their own sections).
    runbook_section: str = ""
    #: Commands or statements the operator can run next, exactly as they would type them.
    commands: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """False only for a problem: a probe that did not run is not a finding."""
        return self.status != "problem"


ProbeFunction = Callable[[Target], ProbeResult]


@dataclass(frozen=True)
class Probe:
    """A step's probe and what it needs to mean anything."""

    name: str
    run: ProbeFunction
    uses_database: bool
    uses_bundle: bool


class _NotRun(Exception):
    """Raised inside a probe when something it needs is unavailable."""


def _result(
    name: str,
    status: Status,
    summary: str,
    *,
    details: tuple[str, ...] = (),
    failure_modes: tuple[str, ...] = (),
    commands: tuple[str, ...] = (),
) -> ProbeResult:
    step = runbook.load().step_for_probe(name)
    return ProbeResult(
        name=name,
        step=step.number,
        title=step.title,
        status=status,
        summary=summary,
        details=details,
        failure_modes=failure_modes,
        runbook_section=step.heading,
        commands=commands,
    )


def _see(*probe_names: str) -> str:
    """``step 3`` / ``steps 6 and 9``: where the runbook checks what a probe depends on."""
    numbers = [str(runbook.load().step_for_probe(n).number) for n in probe_names]
    return f"step {numbers[0]}" if len(numbers) == 1 else f"steps {' and '.join(numbers)}"


def _modes(*errors: GordonError) -> tuple[str, ...]:
    """The failure modes the errors name (each raise site knows its own), in order."""
    return tuple(dict.fromkeys(e.failure_mode for e in errors if e.failure_mode))


@contextmanager
def _session(target: Target) -> Iterator[tuple[Dsn, Conn]]:
    """A read-only connection for one probe, or ``_NotRun`` saying why there is none."""
    if target.dsn is None:
        raise _NotRun(f"no database URL ({_see('config')})")
    try:
        conn = connect(
            target.dsn,
            purpose=PURPOSE,
            read_only=True,
            connect_timeout=target.connect_timeout_s,
        )
    except GordonError as exc:
        raise _NotRun(f"cannot connect ({_see('connect')}): {scrub(str(exc))}") from None
    with conn:
        try:
            with mapped():
                yield target.dsn, conn
        except ServerError as exc:
            if silent_for(conn) is None:
                raise
            # The watchdog cut a server that stopped answering: FM-29, not a query failure.
            raise mapped_error(target.dsn, conn, exc, "running the probe") from None


def _bundle(target: Target) -> tuple[Migration, ...]:
    if target.bundle is None:
        raise _NotRun(f"the migration bundle could not be read ({_see('config')})")
    return target.bundle


def _guarded(name: str, body: ProbeFunction) -> ProbeFunction:
    """Turn ``_NotRun``, expected failures and server errors into results: a probe never
    raises."""

    def run(target: Target) -> ProbeResult:
        try:
            with mapped():
                return body(target)
        except _NotRun as exc:
            return _result(name, "not_run", f"not run: {exc}")
        except GordonError as exc:
            message = scrub(str(exc))
            return _result(name, "problem", message, failure_modes=_modes(exc))
        except ServerError as exc:
            message = one_line(scrub(str(exc)))
            return _result(name, "problem", f"the probe's query failed: {message}")

    run.__name__ = f"probe_{name}"
    run.__doc__ = body.__doc__
    return run


# --- step 1: the apply's error line -------------------------------------------------------


def error_line(log: str) -> str | None:
    """The failure line of an apply log: the last JSON ``error`` event, or the last
    ``gordon-migrate: error:`` line (``docker compose logs`` prefixes are tolerated)."""
    found = _error_event(log)
    return found[0] if found is not None else None


def _error_event(log: str) -> tuple[str, tuple[str, ...]] | None:
    """The last error of an apply log, with the failure mode its JSON event names.

    A console line (``gordon-migrate: error: ...``, a run in a terminal) carries no fields, nor
    does the JSON line of a gordon-migrate older than the ``failure_mode`` field (a log of the
    image being replaced): their failure modes are then the runbook symptoms the line quotes,
    the one place text is matched.
    """
    from gordon_migrate.observe import report

    written = report.read(log)  # `apply --report FILE`: the run's error, as data
    if written is not None:
        return report.failure(written)
    found: tuple[str, tuple[str, ...]] | None = None
    for line in log.splitlines():
        start = line.find("{")
        if start >= 0:
            try:
                event = json.loads(line[start:])
            except ValueError:
                event = None
            if isinstance(event, dict) and event.get("level") == "error":
                text, mode = str(event.get("event", "")), event.get("failure_mode")
                found = (text, (mode,) if isinstance(mode, str) else _symptoms(text))
                continue
        marker = line.find("gordon-migrate: error: ")
        if marker >= 0:
            text = line[marker + len("gordon-migrate: error: ") :].strip()
            found = (text, _symptoms(text))
    return found


def _symptoms(text: str) -> tuple[str, ...]:
    return tuple(mode.id for mode in runbook.load().match(text))


def _error_line(target: Target) -> ProbeResult:
    """The failure mode of the apply's error line (its JSON event's, else its symptom's)."""
    name = "error_line"
    if target.apply_log is None:
        raise _NotRun("no apply log given (diagnose --apply-log FILE, - for stdin)")
    found = _error_event(target.apply_log)
    if found is None:
        return _result(
            name,
            "ok",
            "the log has no error line: the run succeeded, or the container was killed "
            "(exit 137, FM-27)",
        )
    line, modes = scrub(found[0]), found[1]
    summary = "the apply failed: " + (
        "its error line matches the runbook" if modes else "its error line matches no symptom"
    )
    return _result(name, "problem", summary, details=(line,), failure_modes=modes)


# --- step 2: configuration ----------------------------------------------------------------


def _config(target: Target) -> ProbeResult:
    """DATABASE_URL given and well-formed; the bundle readable."""
    errors = [e for e in (target.run.dsn_error, target.run.bundle_error) if e is not None]
    if errors:
        problems = [scrub(str(e)) for e in errors]
        return _result(
            "config",
            "problem",
            problems[0],
            details=tuple(problems[1:]),
            failure_modes=_modes(*errors),
        )
    assert target.dsn is not None
    assert target.bundle is not None
    bundle = target.bundle
    span = f" ({bundle[0].filename} .. {bundle[-1].filename})" if bundle else ""
    return _result(
        "config",
        "ok",
        f"database URL {target.dsn.redacted}; bundle of {len(bundle)} migration(s){span}",
    )


# --- step 3: connect ----------------------------------------------------------------------


def _connect(target: Target) -> ProbeResult:
    """Reach the server as the URL says (a failure is apply's own connect error)."""
    if target.dsn is None:
        raise _NotRun(f"no database URL ({_see('config')})")
    with connection(
        target.dsn,
        purpose=PURPOSE,
        doing="reading the server's facts",
        read_only=True,
        connect_timeout=target.connect_timeout_s,
    ) as conn:
        facts = server_facts(conn)
        return _result(
            "connect",
            "ok",
            f"reached database {facts.database} on PostgreSQL {facts.server_version} as "
            f"{facts.user}",
        )


# --- steps 4 and 5: the server and the role -----------------------------------------------


def _server(conn: Conn) -> status.DatabaseStatus:
    """The server facts apply checks first, without reading the history (no migrations)."""
    facts = server_facts(conn)
    return status.DatabaseStatus(
        database=facts.database,
        user=facts.user,
        server_version=facts.server_version,
        in_recovery=facts.in_recovery,
        history_exists=facts.history_exists,
        migrations=[],
    )


# This probe's own session is read-only by its startup options, so the database's and the
# role's settings are read from the catalog. A server-wide default_transaction_read_only
# (postgresql.conf) is not visible here: apply names it (FM-11) on its writable session.
_WRITES_AND_STANDBYS = """
SELECT EXISTS (
         SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) c
         WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database
                                     WHERE datname = current_database()))
           AND s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = session_user))
           AND lower(c) ~ '^default_transaction_read_only=(on|true|yes|1|t|y)'),
       current_setting('synchronous_standby_names'),
       current_setting('synchronous_commit'),
       (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')),
       (SELECT count(*) FROM pg_stat_replication WHERE sync_state IS NULL)
"""


def _primary(target: Target) -> ProbeResult:
    """The server is the primary, the database takes writes, and a synchronous standby
    would confirm a commit (apply's own checks: FM-11, FM-32)."""
    with _session(target) as (_dsn, conn):
        status = _server(conn)
        check_server(status)
        row = conn.execute(_WRITES_AND_STANDBYS).fetchone()
    assert row is not None
    read_only, names, commit_mode, synchronous, hidden = row
    if read_only:
        check_writable(replace(status, read_only=True))
    details: list[str] = []
    if str(names).strip() and str(commit_mode) in ("on", "remote_write", "remote_apply"):
        if int(synchronous) == 0 and int(hidden) == 0:
            raise SyncStandbyError(
                f"commits on database {status.database} wait for a synchronous standby "
                f"(synchronous_standby_names = {str(names)!r}, synchronous_commit = "
                f"{commit_mode}) and none is connected: apply's final commit would wait, "
                "and apply stops waiting after --standby-wait (docs/spof-runbook.md, FM-32)"
            )
        if int(hidden):
            details.append(
                "pg_stat_replication hides its sync_state from this role: whether a "
                "synchronous standby is connected cannot be told (pg_read_all_stats shows it)"
            )
    return _result(
        "primary",
        "ok",
        f"the server of database {status.database} is the primary",
        details=tuple(details),
    )


def _privileges(target: Target) -> ProbeResult:
    """The connected role may migrate (apply's own pre-check)."""
    with _session(target) as (_dsn, conn):
        status = _server(conn)
        check_privileges(conn, status)
    return _result("privileges", "ok", f"role {status.user} may migrate database {status.database}")


# --- step 6: history ----------------------------------------------------------------------


def _read_status(conn: Conn, bundle: Sequence[Migration]) -> status.DatabaseStatus:
    try:
        with mapped():
            return status.read_status(conn, bundle)
    except (ServerError, GordonError) as exc:
        if isinstance(exc, ServerError) and exc.sqlstate != INSUFFICIENT_PRIVILEGE:
            raise
        raise _NotRun(
            f"cannot read the history: {one_line(scrub(str(exc)))} ({_see('privileges')}: "
            "this role cannot migrate)"
        ) from None


def _history(target: Target) -> ProbeResult:
    """The history agrees with the bundle (apply's own check, for every problem)."""
    bundle = _bundle(target)
    with _session(target) as (_dsn, conn):
        status = _read_status(conn, bundle)
        dirty = any(p.state == "failed" for p in status.problems)
        invalid = [str(r[0]) for r in conn.execute(_INVALID_INDEXES).fetchall()] if dirty else []
        resume = None
        if dirty:
            from gordon_migrate.apply import leftovers

            resume = leftovers.plan_resume(conn, status, bundle)
    if not status.history_exists:
        return _result(
            "history",
            "ok",
            f"no history table yet in database {status.database}: a new database, every "
            "migration is pending",
        )
    messages = []
    errors = []
    for problem in status.problems:
        try:
            check_history(replace(status, migrations=[problem]))
        except GordonError as exc:
            messages.append(str(exc))
            errors.append(exc)
    if not messages:
        return _result(
            "history",
            "ok",
            f"{status.count('applied')} applied, {status.count('pending')} pending, none dirty, "
            "edited or unknown to the bundle",
        )
    modes = _modes(*errors)
    drops: tuple[str, ...] = ()
    if resume is not None and resume.resumable:
        # Nothing for a human: the deploy's next apply undoes and redoes it (FM-31's way out).
        notes = [f"{v:04d}: {note}" for v, note in sorted(resume.notes.items())]
        return _result(
            "history",
            "problem",
            messages[0],
            details=tuple([*notes, *messages[1:]][: MAX_DETAILS - 1]),
            failure_modes=(*modes, "FM-31") if invalid else modes,
            commands=("gordon-migrate apply", "gordon-migrate status"),
        )
    if invalid:
        # A dirty row beside an INVALID index: a CREATE INDEX CONCURRENTLY that failed after
        # creating it (FM-31). IF NOT EXISTS would keep the broken index: it must go first.
        messages.insert(
            1,
            f"INVALID index(es) {', '.join(invalid)}: left by a failed CREATE INDEX "
            "CONCURRENTLY; drop before re-running or finishing the migration",
        )
        modes = (*modes, "FM-31")
        drops = tuple(f"DROP INDEX CONCURRENTLY IF EXISTS {name};" for name in invalid)
    return _result(
        "history",
        "problem",
        messages[0],
        details=tuple(messages[1:MAX_DETAILS]),
        failure_modes=modes,
        commands=(*drops, "gordon-migrate status"),
    )


# Indexes a failed CONCURRENTLY build left behind, in any schema but the system ones.
_INVALID_INDEXES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
ORDER BY 1
"""


# --- step 7: the migration lock -----------------------------------------------------------


def _migration_lock(target: Target) -> ProbeResult:
    """Nobody holds the migration advisory lock; else who, since when, doing what."""
    with _session(target) as (_dsn, conn):
        row = conn.execute("SELECT current_database()::text, current_user::text").fetchone()
        assert row is not None
        key = locks.lock_key(str(row[0]))
        holder = locks.holder(conn, key)
    if holder is None:
        return _result(
            "migration_lock", "ok", f"nobody holds advisory lock {key} of database {row[0]}"
        )
    details = [f"lock: advisory lock {key} of database {row[0]}"]
    details.append(f"activity: {holder.activity()}")
    hint = sessions.hidden_hint([holder], str(row[1]))
    if hint is not None:
        details.append(hint)
    if holder.state == "active" and holder.application_name.startswith("gordon-migrate"):
        details.append(
            "a gordon-migrate runner at work: wait for it; ending it interrupts its migration"
        )
    return _result(
        "migration_lock",
        "problem",
        f"held by {holder.describe(with_state=True)}",
        details=tuple(details),
        failure_modes=(FM_LOCK_HELD,),
        commands=("gordon-migrate unlock", holder.terminate_sql),
    )


def _current_user(conn: Conn) -> str:
    row = conn.execute("SELECT current_user::text").fetchone()
    assert row is not None
    return str(row[0])


# --- step 8: sessions blocking Gordon tables ----------------------------------------------


def _blocking_sessions(target: Target) -> ProbeResult:
    """Transactions holding Gordon table locks for longer than the blocker age, and sessions
    blocking another one right now."""
    threshold = format_ms(target.blocker_age_ms)
    with _session(target) as (_dsn, conn):
        found = sessions.blockers(conn, target.blocker_age_ms / 1000.0)
        role = _current_user(conn)
        in_the_way = _in_the_way_of_pending(target, conn) if found else set()
    if not found:
        return _result(
            "blocking_sessions",
            "ok",
            f"no transaction has held a lock on a Gordon table for {threshold} or more "
            "(--blocker-age), and no session is blocked",
        )
    details: list[str] = []
    for s in found[:MAX_DETAILS]:
        details.append(f"{s.describe()}: {s.activity()}")
        if s.relations:
            details.append(f"  holds {', '.join(s.relations)}")
        if s.blocking:
            details.append(f"  blocks pid {', '.join(map(str, s.blocking))} now")
    if len(found) > MAX_DETAILS:
        details.append(f"and {len(found) - MAX_DETAILS} more")
    hint = sessions.hidden_hint(found, role)
    if hint is not None:
        details.append(hint)
    # A problem only when it is in someone's way: a session waits behind it now, or a pending
    # migration needs a lock that conflicts with one it holds. Otherwise a long transaction is
    # a fact worth knowing (a migration on those tables would wait for it), not an incident.
    culprits = [s for s in found if s.blocking or s.pid in in_the_way]
    if not culprits:
        return _result(
            "blocking_sessions",
            "warning",
            f"{len(found)} session(s) have held locks on Gordon tables for {threshold} or more; "
            "nothing waits behind them and no pending migration needs a conflicting lock, but "
            "a migration altering those tables would wait for them",
            details=tuple(details),
            commands=tuple(f"gordon-migrate unlock --pid {s.pid}" for s in found[:MAX_DETAILS]),
        )
    return _result(
        "blocking_sessions",
        "problem",
        f"{len(culprits)} session(s) hold locks on Gordon tables that "
        + ("a pending migration needs" if in_the_way else "other sessions wait for")
        + f" (held for {threshold} or more)",
        details=tuple(details),
        failure_modes=(FM_TABLE_LOCK,),
        commands=tuple(f"gordon-migrate unlock --pid {s.pid}" for s in culprits[:MAX_DETAILS]),
    )


def _in_the_way_of_pending(target: Target, conn: Conn) -> set[int]:
    """Pids holding a lock that conflicts with the lock plan of the pending migrations."""
    if target.bundle is None:
        return set()
    try:
        with mapped():
            current = status.read_status(conn, target.bundle)
    except (ServerError, GordonError):
        return set()
    if not current.pending:
        return set()
    from gordon_migrate.lint import lock_plan

    waiting = {m.version for m in current.pending}
    pending = [m for m in target.bundle if m.version in waiting]
    return {h.pid for h in lock_plan(pending, target.bundle, conn).holders}


# --- step 9: pending migrations -----------------------------------------------------------


def _pending(target: Target) -> ProbeResult:
    """Every bundled migration is applied."""
    bundle = _bundle(target)
    with _session(target) as (_dsn, conn):
        status = _read_status(conn, bundle)
    if status.problems:
        raise _NotRun(
            f"the history is inconsistent ({_see('history')}): apply runs nothing until it is"
        )
    pending = status.pending
    if not pending:
        return _result(
            "pending", "ok", f"all {status.count('applied')} bundled migrations are applied"
        )
    first = pending[0]
    return _result(
        "pending",
        "problem",
        f"{len(pending)} migration(s) pending, first {first.label}: apply has not run, or it "
        "failed on it (its error line says why)",
        details=tuple(
            f"{m.label}{'  [no-transaction]' if m.no_transaction else ''}"
            for m in pending[:MAX_DETAILS]
        ),
        failure_modes=FM_PENDING,
        commands=("gordon-migrate apply --dry-run", "gordon-migrate apply"),
    )


# --- step 10: drift -----------------------------------------------------------------------


def _drift(target: Target) -> ProbeResult:
    """drift-check's comparison with the pinned fixtures, once nothing is pending."""
    from gordon_migrate.drift.check import run_drift_check

    bundle = _bundle(target)
    with _session(target) as (dsn, conn):
        status = _read_status(conn, bundle)
    if status.problems or status.pending:
        raise _NotRun(
            "migrations are pending or the history is inconsistent "
            f"({_see('history', 'pending')}): drift is checked once apply has run"
        )
    try:
        report = run_drift_check(dsn, target.fixtures_dir)
    except GordonError as exc:
        return _result("drift", "problem", f"drift-check could not run: {scrub(str(exc))}")
    if report.ok:
        return _result(
            "drift",
            "ok",
            "schema, grants, column grants and NOTIFY allowlist match the fixtures",
        )
    failed = [check for check in report.checks if not check.ok]
    details = [f"{check.title}: {d.kind} {d.object}" for check in failed for d in check.differences]
    if len(details) > MAX_DETAILS:
        details = [*details[:MAX_DETAILS], f"and {len(details) - MAX_DETAILS} more"]
    return _result(
        "drift",
        "problem",
        "drift: " + ", ".join(f"{c.title} ({len(c.differences)})" for c in failed),
        details=tuple(details),
        failure_modes=tuple(FM_DRIFT[check.name] for check in failed),
        commands=("gordon-migrate drift-check",),
    )


PROBES: tuple[Probe, ...] = (
    Probe("error_line", _guarded("error_line", _error_line), False, False),
    Probe("config", _guarded("config", _config), False, False),
    Probe("connect", _guarded("connect", _connect), True, False),
    Probe("primary", _guarded("primary", _primary), True, False),
    Probe("privileges", _guarded("privileges", _privileges), True, False),
    Probe("history", _guarded("history", _history), True, True),
    Probe("migration_lock", _guarded("migration_lock", _migration_lock), True, False),
    Probe("blocking_sessions", _guarded("blocking_sessions", _blocking_sessions), True, False),
    Probe("pending", _guarded("pending", _pending), True, True),
    Probe("drift", _guarded("drift", _drift), True, True),
)
"""Every probe, in runbook order."""


def probe(name: str) -> Probe:
    for candidate in PROBES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def blocked_by(candidate: Probe, target: Target, done: Sequence[ProbeResult]) -> str | None:
    """Why ``candidate`` cannot run given the results so far (``None``: it can)."""
    connected = next((r for r in done if r.name == "connect"), None)
    if candidate.uses_database and target.dsn is None:
        return f"no database URL ({_see('config')})"
    if candidate.uses_database and connected is not None and connected.status != "ok":
        return f"no connection (step {connected.step} failed)"
    if candidate.uses_bundle and target.bundle is None:
        return f"the migration bundle could not be read ({_see('config')})"
    return None


def run_probes(target: Target, names: Sequence[str] | None = None) -> list[ProbeResult]:
    """Run the probes (all, or those named) in runbook order; a probe whose prerequisite
    failed is reported ``not_run`` without being tried (no connect timeout per step)."""
    results: list[ProbeResult] = []
    for candidate in PROBES:
        if names is not None and candidate.name not in names:
            continue
        reason = blocked_by(candidate, target, results)
        if reason is not None:
            results.append(_result(candidate.name, "not_run", f"not run: {reason}"))
        else:
            results.append(candidate.run(target))
    return results
