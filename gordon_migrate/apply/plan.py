"""The apply plan: what ``apply`` would run now and what would stop or stall it.

Computed here only, read-only and without the migration lock, in one short session: the
pending migrations, each one's resolved plan with its provenance (``resolve``: pinned,
rehearsed on a scratch when asked, or guessed), lint's static lock plan and findings
(``lint.lock_plan``), the sessions holding conflicting locks on the planned relations now,
the migration lock's holder, and what apply would refuse (a standby or an inconsistent
history, as ``check_server`` and ``check_history`` judge; a header directive it cannot read,
a role that cannot migrate, text the database's encoding cannot store; the lint hazards of
``lint.refuse_hazards``, as findings). ``apply --dry-run``, the TUI's apply confirmation and
its Overview and Migrations screens render it; none of them reads any of it itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gordon_migrate.apply import locks
from gordon_migrate.apply.engine import ApplyResult
from gordon_migrate.apply.holds import Hold
from gordon_migrate.apply.refusals import (
    check_encoding,
    check_history,
    check_privileges,
    check_server,
)
from gordon_migrate.apply.resolve import (
    OnTheFly,
    ResolvedPlan,
    plan_kind,
    rehearsed_facts,
    relation_modes,
    resolve,
)
from gordon_migrate.apply.status import DatabaseStatus, MigrationStatus, read_status
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import Conn, connection
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.errors import GordonError
from gordon_migrate.core.sessions import Session
from gordon_migrate.lint import lock_plan
from gordon_migrate.lint.model import LockPlan
from gordon_migrate.rehearse import pinned


@dataclass(frozen=True)
class ApplyPlan:
    """What an apply of the bundle would do now, and what would stop or stall it."""

    status: DatabaseStatus
    """The history as read now, against the bundle."""
    migrations: list[Migration]
    """The bundle's pending migrations, in the order apply runs them."""
    locks: LockPlan
    """Their static lock plan, the sessions holding conflicting locks now, and the lint
    findings apply would refuse on (``refusals``)."""
    lock_key: int
    lock_holder: Session | None
    """Who holds the migration lock now, if anyone (apply would wait for it)."""
    refusal: GordonError | None = None
    """Why apply would refuse to start before taking any lock, if it would."""
    holds: tuple[Hold, ...] = ()
    """The predicted hold of each blocking lock across a rewrite or a scan (when asked for:
    ``read_plan``'s ``lock_hold_budget_ms``); one ``refused`` is a refusal of apply's."""
    plans: tuple[ResolvedPlan, ...] = ()
    """Each pending migration's resolved plan, in ``migrations``' order: per statement its
    measured (or guessed) locks, rewrites, scans, created and dropped objects, and its
    ``provenance`` (``.words``: "measured on PostgreSQL 18 (pinned)", "rehearsed just now on
    PostgreSQL 18 in 1.9 s", "GUESSED: static plan, not rehearsed"). Passing this plan back as
    ``read_plan(previous=...)`` keeps them while the pending files are the same: a refresh
    never rehearses again, and never rehearses at all unless asked (``rehearse``)."""

    @property
    def plan_kind(self) -> str:
        """``measured``, ``static`` or ``mixed`` (as the apply report says it)."""
        return plan_kind(self.plans)

    @property
    def rehearsal_ms(self) -> float | None:
        """How long the rehearsal of the migrations the pinned plan lacks took (None: none)."""
        found = [p.provenance.ms for p in self.plans if p.provenance.kind == "rehearsed"]
        return max((ms for ms in found if ms is not None), default=None)

    @property
    def refuses(self) -> bool:
        """Apply would refuse: a lint hazard or a lock held over its budget."""
        return bool(self.locks.refusals) or any(h.refused for h in self.holds)

    @property
    def planned(self) -> list[MigrationStatus]:
        """The pending migrations as the history sees them."""
        return self.status.pending

    def refuse(self) -> None:
        """Raise what apply would refuse to start on, as apply raises it."""
        if self.refusal is not None:
            raise self.refusal

    def as_result(self) -> ApplyResult:
        """The plan as the result of a dry run (what ``render.apply_text`` shows)."""
        return ApplyResult(
            database=self.status.database,
            server_version=self.status.server_version,
            dry_run=True,
            already_applied=self.status.count("applied"),
            planned=self.planned,
        )


def refusal_of(status: DatabaseStatus) -> GordonError | None:
    """What apply would refuse to start on for ``status``, checked in apply's order: a standby,
    then an inconsistent history (None: it would start)."""
    try:
        check_server(status)
        check_history(status)
    except GordonError as refused:
        return refused
    return None


def _refusal_before_locks(
    conn: Conn, status: DatabaseStatus, pending: Sequence[Migration]
) -> GordonError | None:
    """What apply checks next on its session, before any lock, in its order: the pending
    migrations' header directives, the role's privileges, the text the database's encoding
    can store. (Whether the database is writable needs apply's own session: the plan's is
    read-only by design.)"""
    if not pending:
        return None
    try:
        for migration in pending:
            _ = migration.directives
        check_privileges(conn, status)
        check_encoding(conn, status.database, pending)
    except GordonError as refused:
        return refused
    return None


def pending_of(status: DatabaseStatus, bundle: Sequence[Migration]) -> list[Migration]:
    """The migrations of ``bundle`` that ``status`` says are pending, in version order."""
    by_version = {m.version: m for m in bundle}
    return [by_version[s.version] for s in status.pending]


def read_plan(
    conn: Conn,
    bundle: Sequence[Migration],
    *,
    stop_at_refusal: bool = False,
    previous: ApplyPlan | None = None,
    lock_hold_budget_ms: int | None = None,
    rehearse: OnTheFly | None = None,
) -> ApplyPlan:
    """The apply plan of ``bundle`` on ``conn`` (read-only).

    With ``stop_at_refusal``, what apply would refuse to start on is raised as soon as the
    history is read, as apply raises it, and nothing more is read. ``previous`` is a plan read
    on this schema unchanged (the caller knows: the TUI checks a catalog fingerprint): while
    its pending migrations are the same, its static lock plan is kept and only who holds
    conflicting locks is read again (parsing every pending file on each refresh is not free).
    With ``lock_hold_budget_ms``, the predicted lock holds are read too (``holds.predict``).
    With ``rehearse``, the pending migrations the pinned plan lacks are rehearsed on a scratch
    (``resolve``) unless ``previous`` has them measured already; without, they are guessed.
    """
    status = read_status(conn, bundle)
    refusal = refusal_of(status)
    pending = pending_of(status, bundle)
    if refusal is None:
        refusal = _refusal_before_locks(conn, status, pending)
    if stop_at_refusal and refusal is not None:
        raise refusal
    major = pinned.major_of(status.server_version)
    same = previous is not None and _keys(previous.plans) == _keys(pending)
    if previous is not None and same and (rehearse is None or _measured(previous.plans)):
        plans = previous.plans
    else:
        kept = previous.plans if previous is not None else ()
        plans = resolve(pending, bundle, server_major=major, rehearse=rehearse, previous=kept)
    key = locks.lock_key(status.database)
    holder = locks.holder(conn, key)
    measured = rehearsed_facts(plans)
    # The kept lint findings judged the kept plans' rehearsal facts only.
    reuse = previous is not None and (plans is previous.plans or not measured)
    if previous is not None and reuse and _versions(previous.migrations) == _versions(pending):
        static = previous.locks
        found = LockPlan(
            migrations=static.migrations, holders=[], live=True, refusals=static.refusals
        )
    else:
        found = lock_plan(pending, bundle, conn, measured)
    if pending:
        from gordon_migrate.lint.live import conflicting_holders  # pglast: only with work

        # Who conflicts now is judged on the resolved plans: measured where they can be.
        found.holders = conflicting_holders(conn, relation_modes(plans))
    predicted: list[Hold] = []
    if lock_hold_budget_ms is not None and pending:
        from gordon_migrate.apply import holds

        predicted = holds.predict(
            conn,
            pending,
            bundle,
            server_version=status.server_version,
            budget_ms=lock_hold_budget_ms,
            plans=plans,
        )
    return ApplyPlan(
        status=status,
        migrations=pending,
        locks=found,
        lock_key=key,
        lock_holder=holder,
        refusal=refusal,
        holds=tuple(predicted),
        plans=plans,
    )


def _versions(migrations: Sequence[Migration]) -> tuple[int, ...]:
    return tuple(m.version for m in migrations)


def _keys(items: Sequence[Migration] | Sequence[ResolvedPlan]) -> list[tuple[int, str]]:
    return [i.key if isinstance(i, ResolvedPlan) else (i.version, i.checksum.hex()) for i in items]


def _measured(plans: Sequence[ResolvedPlan]) -> bool:
    return all(p.provenance.measured for p in plans)


def plan(
    dsn: Dsn,
    bundle: Sequence[Migration],
    *,
    purpose: str,
    doing: str,
    lock_hold_budget_ms: int | None = None,
    rehearse: OnTheFly | None = None,
) -> ApplyPlan:
    """``read_plan`` on a read-only connection of its own, raising what apply would refuse to
    start on as apply raises it."""
    with connection(dsn, purpose=purpose, doing=doing, read_only=True) as conn:
        return read_plan(
            conn,
            bundle,
            stop_at_refusal=True,
            lock_hold_budget_ms=lock_hold_budget_ms,
            rehearse=rehearse,
        )
