"""internal-error: a rule crashed on a statement.

No check of its own: reported by the walk when another rule's check raises.
"""

from __future__ import annotations

from gordon_migrate.lint.rules import Rule

RULE = Rule(
    id="internal-error",
    order=320,
    severity="error",
    summary="a rule crashed on a statement",
    why=(
        "a rule's check raised on this statement: the statement was not judged by that rule "
        "(every other rule's findings stand)"
    ),
    fix=(
        "report it with the statement; waive it on the statement with a reason only to "
        "unblock a deploy"
    ),
    fails=(),
    passes=("SELECT 1;",),
)
