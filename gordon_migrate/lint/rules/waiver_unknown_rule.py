"""waiver-unknown-rule: gordon:allow names no rule.

No check of its own: judged by the walk's waiver pass.
"""

from __future__ import annotations

from gordon_migrate.lint.rules import Rule

RULE = Rule(
    id="waiver-unknown-rule",
    order=300,
    severity="error",
    summary="gordon:allow names no rule",
    why=("a waiver of no rule waives nothing"),
    fix=("name a rule of `gordon-migrate lint --rules`"),
    fails=(("-- gordon:allow drop-colum typo\nSELECT 1;"),),
    passes=(
        (
            "-- gordon:allow drop-column the venue column is unused since release 41\n"
            "ALTER TABLE trading.fills DROP COLUMN venue;"
        ),
    ),
)
