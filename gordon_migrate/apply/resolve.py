"""The plan of each pending migration, decided in one place: per statement, what it locks,
rewrites, scans, creates and drops, and where that knowledge comes from (its provenance).

- ``pinned``: the bundle's measured plan (``rehearse.pinned``, ``fixtures/lockplan.json``: a
  JSON read), as measured on the target's major when it was;
- ``rehearsed``: measured now on a scratch (``rehearse.run``), for a migration the pinned plan
  lacks (a ``--migrations-dir`` bundle, a file edited since pinning). Only when the caller asks
  (``OnTheFly``): a pinned migration is never rehearsed, and a TUI refresh never starts one;
- ``guessed``: lint's static plan (pglast), when nobody asked for a rehearsal (the engine's
  core API, ``--static-plan``): every output says so.

``apply/holds.py`` (the lock-hold gate), ``apply/plan.py`` (dry run, TUI) and
``observe/plan.py`` (report, traces) all read plans from here. It lives in ``apply/``, not
``lint/``: the rehearsal needs the target (what it has applied) and a scratch server, which
lint, a static analyser, has no business knowing; and its callers are apply's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import structlog

from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.errors import ScratchError
from gordon_migrate.core.settings import EMBEDDED_VERSION, EMBEDDED_VERSIONS
from gordon_migrate.rehearse import pinned
from gordon_migrate.rehearse.model import AccessChange, Lock, mode_name
from gordon_migrate.rehearse.pinned import PinnedStatement

if TYPE_CHECKING:
    from gordon_migrate.core.dsn import Dsn
    from gordon_migrate.lint.model import Rehearsed
    from gordon_migrate.rehearse.model import Rehearsal

log = structlog.get_logger("gordon_migrate.plan")

Kind = Literal["pinned", "rehearsed", "guessed"]

#: The rehearsal's bound on one statement (``rehearse --statement-budget``'s default).
DEFAULT_BUDGET_MS = 60_000


def seconds(ms: float) -> str:
    """``1.9 s``, ``420 ms``: a duration as the operator reads it."""
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


@dataclass(frozen=True)
class Provenance:
    """Where a migration's plan comes from."""

    kind: Kind
    server_major: int | None = None
    """The PostgreSQL major it was measured on (None: guessed)."""
    ms: float | None = None
    """A rehearsal's duration, its scratch's set-up included (the operator waited that long)."""

    @property
    def measured(self) -> bool:
        return self.kind != "guessed"

    @property
    def words(self) -> str:
        if self.kind == "pinned":
            return f"measured on PostgreSQL {self.server_major} (pinned)"
        if self.kind == "rehearsed":
            return (
                f"rehearsed just now on PostgreSQL {self.server_major} in {seconds(self.ms or 0.0)}"
            )
        return "GUESSED: static plan, not rehearsed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "server_major": self.server_major,
            "ms": None if self.ms is None else round(self.ms, 1),
            "words": self.words,
        }


@dataclass(frozen=True)
class ResolvedPlan:
    """One pending migration's plan: its statements' facts, in file order, and provenance."""

    migration: Migration
    provenance: Provenance
    statements: tuple[PinnedStatement, ...]
    """A guessed plan's locks have kind ``relation`` (lint does not say which kind) and its
    ``created``/``dropped`` are empty (lint does not say)."""
    access: tuple[AccessChange, ...] = ()
    """A rehearsed migration's access delta (``rehearse.access``: every change, info and
    error). Empty for a pinned one: the bundle's own migrations' access changes were reviewed
    and are grandfathered (``tests/data/access_grandfathered.txt``, checked against a
    rehearsal in the suite); empty for a guessed one: nothing measured it."""

    @property
    def key(self) -> tuple[int, str]:
        return self.migration.version, self.migration.checksum.hex()


@dataclass(frozen=True)
class OnTheFly:
    """The caller's request to rehearse, now, the pending migrations the pinned plan lacks."""

    target: Dsn
    """Only read: what it has applied is replayed on the scratch first."""
    scratch_server: Dsn | None = None
    """A server to make the scratch database on; None: a throwaway embedded server."""
    pg_version: int | None = None
    """The embedded scratch's major; None: the target's when the embedded server has it."""
    budget_ms: int = DEFAULT_BUDGET_MS


#: Plans rehearsed by the current run, by version and checksum: a report or a trace of the
#: run that rehearsed them (``observe``) shows what apply's gate judged, without rehearsing
#: again. Each run starts with it empty (``forget_rehearsals``): a plan another run rehearsed
#: (another target, an earlier apply of a long-lived TUI) is not this run's.
_rehearsed: dict[tuple[int, str], ResolvedPlan] = {}


def forget_rehearsals() -> None:
    """Forget the plans an earlier run rehearsed (``engine.apply`` calls it first)."""
    _rehearsed.clear()


def resolve(
    pending: Sequence[Migration],
    bundle: Sequence[Migration],
    *,
    server_major: int | None,
    rehearse: OnTheFly | None = None,
    previous: Sequence[ResolvedPlan] = (),
    earlier: bool = False,
) -> tuple[ResolvedPlan, ...]:
    """Each of ``pending``'s plan, in its order: pinned when the pinned plan has the file;
    else rehearsed (with ``rehearse``; one rehearsal for all of them), kept from ``previous``
    when that was rehearsed for the same pending set and bytes, or (``earlier``: a report or
    a trace of the run) from a rehearsal earlier in this process; else guessed.

    A migration that fails on the scratch raises ``MigrationError`` (file:line, the server's
    message); no scratch to be had raises ``ScratchError``, naming what was to be rehearsed."""
    if not pending:
        return ()
    plan = pinned.load()
    keys = [(m.version, m.checksum.hex()) for m in pending]
    kept = {p.key: p for p in previous if p.provenance.kind == "rehearsed"}
    if [p.key for p in previous] != keys:
        kept = {}
    out: dict[int, ResolvedPlan] = {}
    lacking: list[Migration] = []
    for m, key in zip(pending, keys, strict=True):
        found = plan.lookup(*key)
        if found is not None:
            major, statements = found.plan_for(server_major)
            out[m.version] = ResolvedPlan(m, Provenance("pinned", major), statements)
        elif key in kept:
            out[m.version] = kept[key]
            _rehearsed[key] = kept[key]  # this run's report judges what its gate judged
        elif earlier and key in _rehearsed:
            out[m.version] = _rehearsed[key]
        else:
            lacking.append(m)
    if lacking and rehearse is not None:
        out.update(_rehearse(lacking, bundle, rehearse, server_major))
    lacking = [m for m in lacking if m.version not in out]
    out.update({p.migration.version: p for p in guess(lacking, bundle)})
    return tuple(out[m.version] for m in pending)


def unpinned(pending: Sequence[Migration]) -> list[Migration]:
    """Those of ``pending`` the pinned plan lacks (a JSON read): what a rehearsal would run."""
    plan = pinned.load()
    return [m for m in pending if plan.lookup(m.version, m.checksum.hex()) is None]


def _rehearse(
    lacking: Sequence[Migration],
    bundle: Sequence[Migration],
    request: OnTheFly,
    server_major: int | None,
) -> dict[int, ResolvedPlan]:
    from gordon_migrate.rehearse.run import rehearse

    versions = frozenset(m.version for m in lacking)
    # A file under review that is not a file of the bundle takes its version's place.
    others = [m for m in bundle if m.version not in versions]
    ordered = sorted([*others, *lacking], key=lambda m: m.version)
    names = ", ".join(m.filename for m in lacking)
    log.info(f"rehearsing {names} on a scratch: not in the pinned lock plan")
    try:
        result = rehearse(
            ordered,
            target=request.target,
            scratch_server=request.scratch_server,
            pg_version=request.pg_version
            or (server_major if server_major in EMBEDDED_VERSIONS else EMBEDDED_VERSION),
            budget_ms=request.budget_ms,
            only=versions,
        )
    except ScratchError as exc:
        raise ScratchError(
            f"cannot rehearse {names}, which the pinned lock plan lacks: no scratch server "
            f"({exc}). Nothing was run. Give a scratch server (--scratch-url or "
            "GORDON_SCRATCH_URL), or pass --static-plan to judge it by lint's static plan, "
            "marked GUESSED"
        ) from None
    out = _of_rehearsal(lacking, result)
    _rehearsed.update({p.key: p for p in out.values()})
    log.info(
        f"rehearsed {names} on PostgreSQL {pinned.major_of(result.server_version)} in "
        f"{seconds(result.ms)}",
        rehearsal_ms=result.ms,
    )
    return out


def _of_rehearsal(lacking: Sequence[Migration], result: Rehearsal) -> dict[int, ResolvedPlan]:
    provenance = Provenance("rehearsed", pinned.major_of(result.server_version), result.ms)
    by_version = {m.version: m for m in lacking}
    out: dict[int, ResolvedPlan] = {}
    for facts in result.migrations:
        m = by_version.get(facts.version)
        if m is None:
            continue
        statements = tuple(
            PinnedStatement(
                line=s.line,
                locks=s.locks,
                rewritten=s.rewritten,
                scanned=s.scanned,
                created=s.created,
                dropped=s.dropped,
                sampled=s.sampled,
            )
            for s in facts.statements
        )
        out[m.version] = ResolvedPlan(m, provenance, statements, facts.access)
    return out


def rehearsed_facts(plans: Sequence[ResolvedPlan]) -> dict[tuple[int, str], Rehearsed]:
    """What the rehearsal measured of each rehearsed plan, by its ``key``, for lint's rules
    over facts: its error-level access changes (``access-contract`` findings) and statements
    (``hidden-ddl`` judged by what they locked). A pinned plan's are not given: the bundle's
    own migrations were reviewed (lint's baseline, the grandfathered access changes)."""
    from gordon_migrate.lint.model import Rehearsed

    return {
        plan.key: Rehearsed(
            access=tuple(change for change in plan.access if change.error),
            statements=plan.statements,
        )
        for plan in plans
        if plan.provenance.kind == "rehearsed"
    }


def guess(lacking: Sequence[Migration], bundle: Sequence[Migration]) -> tuple[ResolvedPlan, ...]:
    """Lint's static plan of each of ``lacking`` (pglast: only for a migration neither pinned
    nor rehearsed). A file the linter cannot parse has no statements: the server reports its
    error."""
    if not lacking:
        return ()
    from gordon_migrate.lint import lock_plan

    by_file = {p.file: p for p in lock_plan(lacking, bundle, None).migrations}
    out: list[ResolvedPlan] = []
    for m in lacking:
        planned = by_file.get(m.filename)
        statements = tuple(
            PinnedStatement(
                line=s.line,
                locks=tuple(
                    Lock(
                        object=step.relation,
                        kind="relation",
                        mode=mode_name(step.mode),  # lint spells it as pg_locks does
                        new=step.new_relation,
                        dead=step.dead_index,
                    )
                    for step in s.steps
                ),
                rewritten=tuple(step.relation for step in s.steps if step.work == "rewrite"),
                scanned=tuple(step.relation for step in s.steps if step.work == "scan"),
            )
            for s in (planned.statements if planned is not None else [])
        )
        out.append(ResolvedPlan(m, Provenance("guessed"), statements))
    return tuple(out)


def plan_kind(plans: Sequence[ResolvedPlan]) -> str:
    """``measured`` (pinned or rehearsed, all), ``static`` (all guessed) or ``mixed``."""
    measured = {p.provenance.measured for p in plans}
    if measured == {True}:
        return "measured"
    return "static" if measured == {False} else "mixed"


def relation_modes(plans: Sequence[ResolvedPlan]) -> dict[str, set[str]]:
    """The lock modes (as pg_locks spells them) ``plans`` take on relations that exist
    before them: what another session's lock may conflict with."""
    out: dict[str, set[str]] = {}
    for plan in plans:
        for statement in plan.statements:
            for lock in statement.locks:
                if lock.kind != "object" and not lock.new:
                    out.setdefault(lock.object, set()).add(pg_mode(lock.mode))
    return out


def pg_mode(mode: str) -> str:
    """``SHARE UPDATE EXCLUSIVE`` as pg_locks (and the static plan) spell it,
    ``ShareUpdateExclusiveLock``."""
    return "".join(word.capitalize() for word in mode.split()) + "Lock"
