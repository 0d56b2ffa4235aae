"""The locks each statement takes, from the static lock plan (``lint.lock_plan``, pglast).

The measured, pinned plan does not exist yet (it is the rehearsal's job): what is shown here
is the static one, and says so (``"plan": "static"``). Computed only for a report or a trace,
never on the plain apply path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gordon_migrate.core.bundle import Migration

PLAN_KIND = "static"

#: Per statement of a migration (in file order): the locks it takes.
StatementLocks = list[dict[str, object]]


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
