"""The locks each statement takes, for apply's report and traces. Computed only for a report or
a trace, never on the plain apply path.

A bundled migration's locks come from the bundle's pinned plan, measured on a real server
(``rehearse.pinned``, ``fixtures/lockplan.json``: a JSON read), marked ``"plan": "measured"``
with the major they were measured on: the target's when it was measured there. A migration
the pinned plan does not have (a ``--migrations-dir`` bundle, a file edited since) gets lint's
static plan (pglast), that migration only, marked ``"plan": "static"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog

if TYPE_CHECKING:
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.rehearse.pinned import PinnedPlan, PinnedStatement

log = structlog.get_logger("gordon_migrate.observe")

PlanKind = Literal["measured", "static"]
MEASURED: PlanKind = "measured"
STATIC: PlanKind = "static"

#: Per statement of a migration (in file order): the locks it takes.
StatementLocks = list[dict[str, object]]


@dataclass(frozen=True)
class MigrationLocks:
    """One migration's locks, statement by statement, and where they come from."""

    plan: PlanKind
    server_major: int | None
    """The PostgreSQL major a measured plan was measured on (None: static)."""
    statements: list[StatementLocks]


def plan_locks(
    migrations: Sequence[Migration], bundle: Sequence[Migration], server_major: int | None
) -> dict[int, MigrationLocks]:
    """version -> its locks: measured when pinned (as measured on ``server_major`` when it
    was), else the static plan."""
    if not migrations:
        return {}
    pinned = _pinned()
    out: dict[int, MigrationLocks] = {}
    guessed = []
    for migration in migrations:
        found = pinned.lookup(migration.version, migration.checksum.hex())
        if found is None:
            guessed.append(migration)
            continue
        major, statements = found.plan_for(server_major)
        out[migration.version] = MigrationLocks(
            MEASURED, major, [measured_locks(s) for s in statements]
        )
    for version, guess in static_locks(guessed, bundle).items():
        out[version] = MigrationLocks(STATIC, None, guess)
    return out


def _pinned() -> PinnedPlan:
    from gordon_migrate.core.errors import ConfigError
    from gordon_migrate.rehearse import pinned

    try:
        return pinned.load()
    except ConfigError as exc:
        # The run's report still gets the static plan: the pinned file is only a cheaper,
        # truer source of the same facts.
        log.warning(f"{exc}; the report and the trace use the static lock plan")
        return pinned.PinnedPlan()


def pg_mode(mode: str) -> str:
    """``SHARE UPDATE EXCLUSIVE`` as pg_locks (and the static plan) spell it,
    ``ShareUpdateExclusiveLock``."""
    return "".join(word.capitalize() for word in mode.split()) + "Lock"


def blocks(mode: str) -> str:
    """What a lock of ``mode`` on a relation stops, as the static plan says it: a SELECT
    takes ACCESS SHARE (only ACCESS EXCLUSIVE conflicts with it), an INSERT, UPDATE or DELETE
    ROW EXCLUSIVE (SHARE and everything stronger conflict with it)."""
    from gordon_migrate.rehearse.model import strength

    if mode == "ACCESS EXCLUSIVE":
        return "reads and writes"
    if strength(mode) >= strength("SHARE"):
        return "writes"
    return "neither"


def measured_locks(statement: PinnedStatement) -> StatementLocks:
    """A pinned statement's relation locks, with the static plan's fields (and ``kind``,
    ``via``). Locks on other objects (a role, a schema, a constraint) are left out: no query
    of a service waits on them."""
    out: StatementLocks = []
    for lock in statement.locks:
        if lock.kind == "object":
            continue
        if lock.object in statement.rewritten or lock.via in statement.rewritten:
            work = "rewrite"
        elif lock.object in statement.scanned:
            work = "scan"
        else:
            work = "none"
        out.append(
            {
                "relation": lock.object,
                "mode": pg_mode(lock.mode),
                "blocks": blocks(lock.mode),
                "work": work,
                "new_relation": lock.new,
                "kind": lock.kind,
                "via": lock.via,
            }
        )
    return out


def static_locks(
    migrations: Sequence[Migration], bundle: Sequence[Migration]
) -> dict[int, list[StatementLocks]]:
    """version -> per statement (in order), its locks: relation, mode, what it blocks, work.

    A file the linter cannot parse has no plan (an empty list): the server reports its error.
    """
    if not migrations:
        return {}
    from gordon_migrate.lint import lock_plan

    plan = lock_plan(migrations, bundle, None)
    by_file = {m.file: m for m in plan.migrations}
    out: dict[int, list[StatementLocks]] = {}
    for migration in migrations:
        planned = by_file.get(migration.filename)
        out[migration.version] = [
            [
                {
                    "relation": step.relation,
                    "mode": step.mode,
                    "blocks": step.blocks,
                    "work": step.work,
                    "new_relation": step.new_relation,
                }
                for step in statement.steps
            ]
            for statement in (planned.statements if planned else [])
        ]
    return out


def lock_words(locks: StatementLocks) -> list[str]:
    """One line per lock, for a span attribute or a table cell."""
    return [f"{lock['mode']} on {lock['relation']} (blocks {lock['blocks']})" for lock in locks]
