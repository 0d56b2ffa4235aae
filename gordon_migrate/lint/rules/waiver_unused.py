"""waiver-unused: gordon:allow on a statement without that finding.

No check of its own: judged by the walk's waiver pass.
"""

from __future__ import annotations

from gordon_migrate.lint.rules import Rule

RULE = Rule(
    id="waiver-unused",
    order=310,
    severity="warning",
    summary="gordon:allow on a statement without that finding",
    why=("a misplaced waiver hides nothing today, and may hide a real hazard of a later edit"),
    fix=("put the waiver on, or just above, the statement it is for; or remove it"),
    fails=(("-- gordon:allow drop-column not needed\nSELECT 1;"),),
    passes=(
        (
            "-- gordon:allow drop-column the venue column is unused since release 41\n"
            "ALTER TABLE trading.fills DROP COLUMN venue;"
        ),
    ),
)
