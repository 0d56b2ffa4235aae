"""``rehearse``: build the scratch, replay what the target has applied, then run each pending
migration statement by statement as apply would and measure it (``measure``).

The target is only read: its history (a plain SELECT on ``public._sqlx_migrations``, ACCESS
SHARE) and who its session is, so that a scratch given by flag can be refused when it is the
target's own database. Everything else happens on the scratch: a throwaway database on a
throwaway embedded server by default, or a throwaway database created on ``--scratch-url``'s
server and dropped after (as ``fixtures update`` does).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace

import structlog
from psycopg import conninfo, sql

from gordon_migrate.core import db
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import HISTORY_TABLE, Conn
from gordon_migrate.core.dsn import Dsn, one_line
from gordon_migrate.core.durations import format_ms
from gordon_migrate.core.errors import (
    DUPLICATE_DATABASE,
    QUERY_CANCELED,
    ConfigError,
    ConnectError,
    MigrationError,
    ScratchError,
    ServerError,
)
from gordon_migrate.core.scratch import scratch_database
from gordon_migrate.core.settings import EMBEDDED_VERSION
from gordon_migrate.rehearse import access, cost, pinned
from gordon_migrate.rehearse.measure import (
    LOCKS_OF,
    LockRow,
    Snapshot,
    lock_rows,
    measured,
    snapshot,
    statement_facts,
)
from gordon_migrate.rehearse.model import MigrationFacts, Rehearsal, StatementFacts
from gordon_migrate.sql.split import Statement, split

log = structlog.get_logger("gordon_migrate.rehearse")

#: The rehearsal's own bound on one statement: the scratch is small, so a statement that runs
#: this long there is stuck (waiting on something) rather than working.
DEFAULT_BUDGET_MS = 60_000

# What the server answers to a statement that cannot run in a transaction block (CREATE INDEX
# CONCURRENTLY, VACUUM: 25001) or to a DO block that commits (2D000): run on its own instead.
_NOT_IN_A_BLOCK = frozenset({"25001", "2D000"})

# Between two samples of a running statement's locks: short, since a CONCURRENTLY statement
# on an empty scratch table is over in milliseconds.
_SAMPLE_PAUSE_S = 0.001
_HOLD_AT_MOST_S = 1.0
_LOCKABLE = frozenset({"table", "partitioned table", "materialized view"})


@dataclass(frozen=True)
class _Backend:
    """The target's session, as any session of the same server sees it in pg_stat_activity
    (pid and application_name are shown to every role; its start time is not)."""

    pid: int
    application_name: str


def rehearse(
    migrations: Sequence[Migration],
    *,
    target: Dsn | None = None,
    scratch_server: Dsn | None = None,
    pg_version: int = EMBEDDED_VERSION,
    budget_ms: int = DEFAULT_BUDGET_MS,
    only: frozenset[int] | None = None,
    exhaustive: bool = False,
) -> Rehearsal:
    """Rehearse the migrations ``target`` has not applied (all of them without a target) on a
    scratch; a statement that fails or outlasts ``budget_ms`` there raises ``MigrationError``
    naming its file and line. With ``only``, a pending migration of another version is
    replayed unmeasured in its place (its plan is pinned: measuring it again is wasted).
    ``exhaustive`` reads every relation and object after each statement, not only what it can
    have changed (the suite's check of ``measure.measured``'s premises). A scratch that cannot
    be had raises ``ScratchError``."""
    started = time.perf_counter_ns()
    applied = _read_target(target, scratch_server) if target is not None else frozenset()
    replayed = [m for m in migrations if m.version in applied]
    pending = [m for m in migrations if m.version not in applied]
    with ExitStack() as stack:
        # Apply's other session settings (apply/options.py) end a session whose client
        # vanished and bound lock waits on a busy server: nothing a statement does depends on
        # them, and nobody else holds locks on the scratch. client_encoding is UTF8 as in
        # apply (db.connect). Scan counters are read fresh each time, not from a cached copy.
        # A commit on the scratch need not wait for its WAL to reach the disk: nothing there
        # outlives the rehearsal, and no lock or rewrite depends on it.
        options = {
            "statement_timeout": format_ms(budget_ms),
            "stats_fetch_consistency": "none",
            "synchronous_commit": "off",
        }
        try:
            # On a scratch server that stays (--scratch-url, GORDON_SCRATCH_URL), what the
            # target has applied is replayed once into a template database, kept for the next
            # rehearsal of the same versions: each rehearsal then copies it instead of replaying.
            template = (
                _template(scratch_server, replayed, budget_ms)
                if scratch_server is not None and replayed
                else None
            )
            scratch = stack.enter_context(_scratch(scratch_server, pg_version, template))
            conn = stack.enter_context(
                db.connection(
                    scratch,
                    purpose="rehearse",
                    doing="rehearsing the migrations on the scratch",
                    options=options,
                    guarded=False,  # each statement is bounded by the budget
                )
            )
        except (ConnectError, ConfigError) as exc:
            if isinstance(exc, ScratchError):
                raise
            raise ScratchError(str(exc)) from None
        except OSError as exc:  # the embedded server's temporary directory
            raise ScratchError(
                f"cannot make the embedded scratch server's directory: {exc}"
            ) from None
        version = db.server_version(conn)
        if template is None:
            for migration in replayed:
                _replay(conn, migration, budget_ms)
        measured = _measure_pending(
            conn, scratch, pending, budget_ms, only, replayed, exhaustive=exhaustive
        )
    return Rehearsal(
        server_version=version,
        ms=_ms(time.perf_counter_ns() - started),
        replayed=tuple(m.version for m in replayed),
        migrations=tuple(measured),
    )


def _read_target(target: Dsn, scratch_server: Dsn | None) -> frozenset[int]:
    """The versions the target has applied; refuses a scratch server URL that names the
    target's own database (checked while the target's session is open: the scratch server is
    asked whether it has a session of that pid and application name, in that database)."""
    if scratch_server is not None and scratch_server.value == target.value:
        raise _same_database(target)
    # A name of its own, for the scratch server to recognise this session by.
    purpose = f"rehearse target {secrets.token_hex(4)}"
    with db.connection(
        target, purpose=purpose, doing="reading the history", read_only=True
    ) as conn:
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL, current_setting('application_name')",
            (HISTORY_TABLE,),
        ).fetchone()
        assert row is not None
        has_history, application_name = row
        applied: frozenset[int] = frozenset()
        if has_history:
            query = f"SELECT version FROM {HISTORY_TABLE} WHERE success"
            applied = frozenset(int(v) for (v,) in conn.execute(query).fetchall())
        if scratch_server is not None:
            me = _Backend(pid=conn.info.backend_pid, application_name=str(application_name))
            _refuse_same_database(scratch_server, target, me)
    return applied


def _refuse_same_database(scratch_server: Dsn, target: Dsn, target_backend: _Backend) -> None:
    try:
        with db.connection(
            scratch_server, purpose="rehearse", doing="checking the scratch server", read_only=True
        ) as conn:
            row = conn.execute(
                "SELECT datname = current_database() FROM pg_stat_activity "
                "WHERE pid = %s AND application_name = %s",
                (target_backend.pid, target_backend.application_name),
            ).fetchone()
    except ConnectError as exc:
        raise ScratchError(str(exc)) from None
    if row is not None and row[0]:
        raise _same_database(target)


def _same_database(target: Dsn) -> ConfigError:
    return ConfigError(
        f"--scratch-url names the target database ({target.redacted}): rehearse runs the "
        "migrations on the scratch, never on the target; give a scratch server"
    )


@contextmanager
def _scratch(
    server: Dsn | None, pg_version: int, template: str | None = None, *, disk: bool = False
) -> Iterator[Dsn]:
    """A throwaway database: on ``server`` (dropped after; a copy of ``template`` when given),
    else on a throwaway embedded server of ``pg_version`` (stopped and deleted after; on a
    RAM disk when there is one, unless ``disk``)."""
    with scratch_database(
        server,
        pg_version=pg_version,
        prefix="gordon_rehearse",
        purpose="rehearse",
        refused=ScratchError,
        needs="--scratch-url needs",
        template=template,
        disk=disk,
    ) as scratch:
        yield scratch.database


#: The replay templates kept on a scratch server (the oldest beyond are dropped): one per set
#: of applied versions a rehearsal met, so a server shared by many targets keeps a few.
TEMPLATES_KEPT = 8
TEMPLATE_PREFIX = "gordon_rehearse_tpl_"
#: Part of a template's name: a change in how replay works makes the old ones unused.
_TEMPLATE_FORMAT = "1"


def template_name(replayed: Sequence[Migration]) -> str:
    """The template database of a replay of exactly ``replayed`` (versions and bytes)."""
    digest = hashlib.sha256(_TEMPLATE_FORMAT.encode())
    for m in sorted(replayed, key=lambda m: m.version):
        digest.update(f"{m.version}:{m.checksum.hex()};".encode())
    return TEMPLATE_PREFIX + digest.hexdigest()[:20]


def _template(server: Dsn, replayed: Sequence[Migration], budget_ms: int) -> str:
    """The template database holding ``replayed`` on ``server``, built when it is not there:
    replayed into a database of its own, renamed into place only once complete (a rehearsal
    that dies half-way leaves no template, and two that race keep the first rename)."""
    name = template_name(replayed)
    with db.connection(
        server, purpose="rehearse", doing="finding the replay template", guarded=False
    ) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found is not None:
        return name
    with _scratch(server, EMBEDDED_VERSION) as building:
        with db.connection(
            building, purpose="rehearse", doing="building the replay template", guarded=False
        ) as conn:
            for migration in replayed:
                _replay(conn, migration, budget_ms)
        with db.connection(
            server, purpose="rehearse", doing="keeping the replay template", guarded=False
        ) as admin:
            building_name = conninfo.conninfo_to_dict(building.value)["dbname"]
            try:
                with db.mapped():
                    admin.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(str(building_name)), sql.Identifier(name)
                        )
                    )
                    # Nobody connects to a template (autovacuum neither): a copy of it never
                    # finds it in use.
                    admin.execute(
                        sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                            sql.Identifier(name)
                        )
                    )
            except ServerError as exc:
                if exc.sqlstate != DUPLICATE_DATABASE:
                    raise
            _drop_old_templates(admin, keep=name)
    return name


def _drop_old_templates(admin: Conn, keep: str) -> None:
    """Drop the oldest templates beyond ``TEMPLATES_KEPT`` (one in use by a copy is left)."""
    rows = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s "
        "ORDER BY oid DESC OFFSET %s",
        (TEMPLATE_PREFIX + "%", keep, TEMPLATES_KEPT - 1),
    ).fetchall()
    for (old,) in rows:
        try:
            with db.mapped():
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(old)))
        except ServerError as exc:
            log.debug("replay template kept: in use", template=old, error=str(exc))


class _Failed(Exception):
    def __init__(self, statement: Statement, error: ServerError) -> None:
        super().__init__(str(error))
        self.statement = statement
        self.error = error


def _timeout_ms(migration: Migration, budget_ms: int) -> int:
    """The budget, or the header's shorter statement timeout (apply would cancel there)."""
    header = migration.directives.get("statement-timeout", 0)
    return min(header, budget_ms) if header > 0 else budget_ms


def _execute(conn: Conn, statement: Statement) -> float:
    """Run one statement as apply sends it; its duration in ms."""
    start = time.perf_counter_ns()
    try:
        with db.mapped():
            conn.execute(statement.text.encode("utf-8"))
    except ServerError as exc:
        raise _Failed(statement, exc) from None
    return _ms(time.perf_counter_ns() - start)


def _replay(conn: Conn, migration: Migration, budget_ms: int) -> None:
    """An applied migration, run as apply ran it, unmeasured."""
    timeout = _timeout_ms(migration, budget_ms)
    try:
        if migration.no_transaction:
            for statement in split(migration.sql):
                _execute(conn, statement)
        else:
            with conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = '{format_ms(timeout)}'")
                for statement in split(migration.sql):
                    _execute(conn, statement)
    except _Failed as failed:
        raise _failure(migration, failed, timeout, "replaying the applied") from None


def _measure_pending(
    conn: Conn,
    scratch: Dsn,
    pending: Sequence[Migration],
    budget_ms: int,
    only: frozenset[int] | None,
    replayed: list[Migration],
    *,
    exhaustive: bool,
) -> tuple[MigrationFacts, ...]:
    """Each pending migration measured (only those of ``only`` when given: the others are
    replayed unmeasured and appended to ``replayed``), with its access delta. The access state
    is read before a measured migration and after it; the state after one is the state before
    the next, unless an unmeasured one ran in between."""
    runtime = access.runtime_roles() if pending else None
    state: access.AccessState | None = None
    out = []
    for migration in pending:
        if only is not None and migration.version not in only:
            _replay(conn, migration, budget_ms)
            replayed.append(migration)
            state = None
            continue
        before = state if state is not None else access.read_access(conn)
        facts = _measure(conn, scratch, migration, budget_ms, exhaustive)
        state = access.read_access(conn)
        out.append(replace(facts, access=access.delta(before, state, runtime)))
    return tuple(out)


def _measure(
    conn: Conn, scratch: Dsn, migration: Migration, budget_ms: int, exhaustive: bool
) -> MigrationFacts:
    timeout = _timeout_ms(migration, budget_ms)
    statements = split(migration.sql)
    start = time.perf_counter_ns()
    try:
        if migration.no_transaction:
            facts = [
                _one_alone(conn, scratch, migration, s, timeout, exhaustive) for s in statements
            ]
        else:
            with conn.transaction():
                facts = _in_transaction(conn, migration, statements, timeout, exhaustive)
    except _Failed as failed:
        raise _failure(migration, failed, timeout, "rehearsing the pending") from None
    return MigrationFacts(
        version=migration.version,
        filename=migration.filename,
        no_transaction=migration.no_transaction,
        ms=_ms(time.perf_counter_ns() - start),
        statements=tuple(facts),
    )


def _in_transaction(
    conn: Conn,
    migration: Migration,
    statements: Sequence[Statement],
    timeout_ms: int,
    exhaustive: bool,
) -> list[StatementFacts]:
    """Statements in the open transaction, each between two snapshots: its locks are those
    the transaction holds after it and did not before (a lock an earlier statement of the
    migration took is shown there, where it was taken)."""
    conn.execute(f"SET LOCAL statement_timeout = '{format_ms(timeout_ms)}'")
    pid = conn.info.backend_pid
    before, held = measured(conn, pid)
    out = []
    for statement in statements:
        ms = _execute(conn, statement)
        after, now = measured(conn, pid, before, exhaustive=exhaustive)
        out.append(_facts(migration, statement, ms, before, after, _new(now, held), False))
        before, held = after, now
    return out


def _one_alone(
    conn: Conn,
    scratch: Dsn,
    migration: Migration,
    statement: Statement,
    timeout_ms: int,
    exhaustive: bool,
) -> StatementFacts:
    """A statement of a no-transaction migration: measured in a transaction block of its own
    when it can run in one (its locks are the same), else sampled while it runs alone."""
    try:
        with conn.transaction():
            return _in_transaction(conn, migration, [statement], timeout_ms, exhaustive)[0]
    except _Failed as failed:
        if failed.error.sqlstate not in _NOT_IN_A_BLOCK:
            raise
    conn.execute(f"SET statement_timeout = '{format_ms(timeout_ms)}'")
    try:
        # Cumulative scan counters: pending ones reach them when the session goes idle,
        # right away after pg_stat_force_next_flush.
        conn.execute("SELECT pg_stat_force_next_flush()")
        before = snapshot(conn, in_transaction=False)
        tables = [r.name for r in before.relations.values() if r.kind in _LOCKABLE]
        with _Sampler(scratch, conn.info.backend_pid, tables) as sampler:
            ms = _execute(conn, statement)
        conn.execute("SELECT pg_stat_force_next_flush()")
        after = snapshot(conn, in_transaction=False)
    finally:
        conn.execute("RESET statement_timeout")
    return _facts(migration, statement, ms, before, after, sampler.rows, True)


def _new(now: set[LockRow], held: set[LockRow]) -> set[LockRow]:
    old = {(row.key, row.mode) for row in held}
    return {row for row in now if (row.key, row.mode) not in old}


def _facts(
    migration: Migration,
    statement: Statement,
    ms: float,
    before: Snapshot,
    after: Snapshot,
    locks: set[LockRow],
    sampled: bool,
) -> StatementFacts:
    return statement_facts(
        line=_line(migration, statement),
        text=statement.text.strip(),
        ms=ms,
        before=before,
        after=after,
        new_locks=locks,
        sampled=sampled,
    )


class _Sampler:
    """Reads a backend's locks from a second connection, as often as it can, until closed.

    A statement on an empty scratch table is over within a millisecond, between two samples.
    So two more sessions make it wait where it can be seen: one holds SHARE UPDATE EXCLUSIVE
    on every table (the weakest lock a maintenance statement takes conflicts with it), so the
    statement queues for its first table lock, shown with its mode; the other holds a
    snapshot open, which a CONCURRENTLY statement waits for before it finishes, holding its
    locks. Each is let go as soon as the statement is seen waiting for it.
    """

    def __init__(self, scratch: Dsn, pid: int, tables: Sequence[str]) -> None:
        self.rows: set[LockRow] = set()
        self._pid = pid
        self._conn = db.connect(scratch, purpose="rehearse sampler", guarded=False)
        self._holders: dict[int, Conn] = {}
        if tables:
            locks = db.connect(scratch, purpose="rehearse lock holder", guarded=False)
            locks.execute("BEGIN")
            # The names come from the server's quote_ident: safe to splice.
            locks.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE UPDATE EXCLUSIVE MODE")
            self._holders[locks.info.backend_pid] = locks
        snap = db.connect(scratch, purpose="rehearse snapshot holder", guarded=False)
        snap.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snap.execute("SELECT 1")  # takes the snapshot
        self._holders[snap.info.backend_pid] = snap
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rehearse-sampler", daemon=True)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._release(list(self._holders))
        self._conn.close()

    def _release(self, pids: Sequence[int]) -> None:
        for pid in pids:
            holder = self._holders.pop(pid, None)
            if holder is not None:
                holder.close()  # ends its transaction: its locks and snapshot go with it

    def _run(self) -> None:
        # Should the statement wait for a holder in a way pg_blocking_pids does not show, the
        # holders are let go after this long rather than at the budget.
        give_up = time.monotonic() + _HOLD_AT_MOST_S
        while not self._stop.is_set():
            try:
                with db.mapped():
                    row = self._conn.execute("SELECT pg_blocking_pids(%s)", (self._pid,)).fetchone()
                    rows = self._conn.execute(LOCKS_OF, (self._pid,)).fetchall()
            except ServerError:
                self._release(list(self._holders))
                return  # the statement's own failure is what gets reported
            self.rows |= lock_rows(rows)
            blockers = set(row[0]) if row is not None and row[0] else set()
            if time.monotonic() > give_up:
                blockers = set(self._holders)
            self._release([pid for pid in list(self._holders) if pid in blockers])
            self._stop.wait(_SAMPLE_PAUSE_S)


def _line(migration: Migration, statement: Statement, position: int | None = None) -> int:
    """Line of the statement's start in its file (of the error, given its position)."""
    offset = statement.start + (max(position - 1, 0) if position else 0)
    return migration.sql.count("\n", 0, offset) + 1


def _failure(migration: Migration, failed: _Failed, timeout_ms: int, doing: str) -> MigrationError:
    exc = failed.error
    line = _line(migration, failed.statement, exc.position)
    where = f"{migration.filename}:{line}"
    if exc.sqlstate == QUERY_CANCELED:
        what = (
            f"the statement ran longer than {format_ms(timeout_ms)} on the scratch and was "
            "cancelled (the rehearsal's time budget, or the header's gordon:statement-timeout)"
        )
    else:
        what = f"SQLSTATE {exc.sqlstate or '?????'}: {one_line(exc.primary or str(exc))}"
    return MigrationError(
        f"{where}: {what} ({doing} migration {migration.label} on the scratch; the target "
        "was not touched)",
        version=migration.version,
        file=migration.filename,
        line=line,
        sqlstate=exc.sqlstate,
        failure_mode="FM-18" if exc.sqlstate == QUERY_CANCELED else "FM-19",
    )


def _ms(ns: int) -> float:
    return round(ns / 1e6, 3)


def measure_throughput(
    *, scratch_server: Dsn | None = None, pg_version: int = EMBEDDED_VERSION
) -> cost.Throughput:
    """The throughput of a rewrite and of a full scan, measured on a scratch (as ``rehearse``'s:
    a throwaway embedded server, or a throwaway database on ``scratch_server``)."""
    with (
        # The throughput of the disk, as production's: never a RAM disk's.
        _scratch(scratch_server, pg_version, disk=True) as scratch,
        db.connection(
            scratch,
            purpose="rehearse",
            doing="measuring a rewrite's and a scan's throughput on the scratch",
            guarded=False,  # bounded by the table it builds (seconds)
        ) as conn,
    ):
        major = pinned.major_of(db.server_version(conn))
        assert major is not None
        return cost.measure(conn, major)
