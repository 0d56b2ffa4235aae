"""syntax-error: the file does not parse.

No check of its own: the parser's own message, reported by the walk.
"""

from __future__ import annotations

from gordon_migrate.lint.rules import Rule

RULE = Rule(
    id="syntax-error",
    order=230,
    severity="error",
    summary="the file does not parse",
    why=("the migration would fail at apply"),
    fix=("fix the SQL"),
    fails=("SELEC 1;",),
    passes=("SELECT 1;",),
)
