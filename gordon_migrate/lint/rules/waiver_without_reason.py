"""waiver-without-reason: gordon:allow without a reason.

No check of its own: judged by the walk's waiver pass.
"""

from __future__ import annotations

from gordon_migrate.lint.rules import Rule

RULE = Rule(
    id="waiver-without-reason",
    order=290,
    severity="error",
    summary="gordon:allow without a reason",
    why=("a waiver must say why the hazard is acceptable"),
    fix=("write `-- gordon:allow RULE-ID why this is acceptable`"),
    fails=(("-- gordon:allow drop-column\nALTER TABLE trading.fills DROP COLUMN venue;"),),
    passes=(
        (
            "-- gordon:allow drop-column the venue column is unused since release 41\n"
            "ALTER TABLE trading.fills DROP COLUMN venue;"
        ),
    ),
)
