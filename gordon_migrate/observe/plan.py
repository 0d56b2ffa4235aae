"""The locks each statement takes, for apply's report and traces. Computed only for a report or
a trace, never on the plain apply path.

Each migration's locks come from its resolved plan (``apply.resolve``): pinned or rehearsed
by this run's apply, marked ``"plan": "measured"`` with the major they were measured on; else
lint's static plan (pglast), that migration only, marked ``"plan": "static"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog

if TYPE_CHECKING:
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.rehearse.pinned import PinnedStatement

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
    provenance: str = "guessed"
    """``pinned``, ``rehearsed`` or ``guessed`` (``apply.resolve``)."""


def plan_locks(
    migrations: Sequence[Migration], bundle: Sequence[Migration], server_major: int | None
) -> dict[int, MigrationLocks]:
    """version -> its locks, from its resolved plan (``apply.resolve``: pinned, as measured on
    ``server_major`` when it was; rehearsed by this run's apply; else lint's static plan).
    Never rehearses: a report or a trace shows what apply judged."""
    if not migrations:
        return {}
    from gordon_migrate.apply.resolve import guess, resolve
    from gordon_migrate.core.errors import ConfigError

    try:
        plans = resolve(migrations, bundle, server_major=server_major, earlier=True)
    except ConfigError as exc:
        # The run's report still gets the static plan: the pinned file is only a cheaper,
        # truer source of the same facts.
        log.warning(f"{exc}; the report and the trace use the static lock plan")
        plans = guess(migrations, bundle)
    return {
        p.migration.version: MigrationLocks(
            MEASURED if p.provenance.measured else STATIC,
            p.provenance.server_major,
            [measured_locks(s) for s in p.statements],
            p.provenance.kind,
        )
        for p in plans
    }


def pg_mode(mode: str) -> str:
    """``SHARE UPDATE EXCLUSIVE`` as pg_locks (and the static plan) spell it,
    ``ShareUpdateExclusiveLock``."""
    from gordon_migrate.apply.resolve import pg_mode as spelled

    return spelled(mode)


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
                "blocks": lock.blocks,
                "work": work,
                "new_relation": lock.new,
                "kind": lock.kind,
                "via": lock.via,
            }
        )
    return out


def lock_words(locks: StatementLocks) -> list[str]:
    """One line per lock, for a span attribute or a table cell."""
    return [f"{lock['mode']} on {lock['relation']} (blocks {lock['blocks']})" for lock in locks]
