"""The locks a fix script takes, printed at its top (and shown by the TUI before it runs one).

Static: each statement's lock matched by the statement's form, NOT measured for this script
(rehearsing it would need a copy of the drifted target; see the plan's first line). The table
is checked against the server instead: tests/test_drift_fix_locks.py provokes drifts that make
the fixer write every form, rehearses each statement on a scratch with the same drift
(``pg_locks``), and fails when a form's lock is not the server's strongest on that relation or
misses one of SHARE UPDATE EXCLUSIVE or stronger. Where a statement's text does not name a
relation it locks (the referenced table of a dropped foreign key), the fix says so in an
``ALSO_LOCKS`` comment after it. GRANT, REVOKE, ALTER ROLE, ALTER DATABASE, ALTER FUNCTION and
drops of objects without rows take no lock on a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gordon_migrate.sql.split import split

_REL = r"(?P<rel>(?:\"(?:[^\"]|\"\")*\"|[^\s\".(]+)(?:\.(?:\"(?:[^\"]|\"\")*\"|[^\s\".(]+))?)"

_REF = _REL.replace("?P<rel>", "?P<ref>")

#: (statement form, lock, what it means), the first match wins; a form with a ``ref`` group
#: locks that relation too, in the same mode.
_FORMS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), lock, note)
    for pattern, lock, note in (
        (
            rf"CREATE (?:UNIQUE )?INDEX CONCURRENTLY \S+ ON (?:ONLY )?{_REL}",
            "SHARE UPDATE EXCLUSIVE",
            "builds an index: reads and writes go on",
        ),
        (
            rf"(?:DROP INDEX CONCURRENTLY (?:IF EXISTS )?|REINDEX INDEX CONCURRENTLY ){_REL}",
            "SHARE UPDATE EXCLUSIVE",
            "on the index and its table, and for a moment at its end ACCESS EXCLUSIVE on the "
            "old index, once dead: the table's reads and writes go on",
        ),
        (rf"ALTER INDEX {_REL} RENAME", "SHARE UPDATE EXCLUSIVE", "renames an index"),
        (
            rf"ALTER TABLE {_REL} (?:ENABLE|DISABLE) (?:ALWAYS |REPLICA )?TRIGGER",
            "SHARE ROW EXCLUSIVE",
            "writes wait, reads go on",
        ),
        (
            rf"CREATE (?:CONSTRAINT )?TRIGGER .*? ON {_REL}",
            "SHARE ROW EXCLUSIVE",
            "writes wait, reads go on",
        ),
        (
            rf"ALTER TABLE {_REL} ADD CONSTRAINT \S+ FOREIGN KEY .*?REFERENCES {_REF}",
            "SHARE ROW EXCLUSIVE",
            "writes wait while existing rows are checked (on the referenced table too)",
        ),
        (
            rf"ALTER TABLE {_REL} (?:SET|RESET) \(",
            "SHARE UPDATE EXCLUSIVE",
            "storage options: reads and writes go on",
        ),
        (
            rf"ALTER TABLE {_REL} .*SET EXPRESSION",
            "ACCESS EXCLUSIVE",
            "rewrites the table: everything waits meanwhile",
        ),
        (
            rf"ALTER TABLE {_REL} SET (?:UN)?LOGGED",
            "ACCESS EXCLUSIVE",
            "rewrites the table: everything waits meanwhile",
        ),
        (
            rf"ALTER TABLE {_REL} .*(?:SET NOT NULL|ADD CONSTRAINT)",
            "ACCESS EXCLUSIVE",
            "scans the table: everything waits meanwhile",
        ),
        (rf"ALTER TABLE {_REL}", "ACCESS EXCLUSIVE", "brief: the catalog only, no scan"),
        (
            rf"(?:DROP TRIGGER|DROP RULE|(?:CREATE|DROP|ALTER) POLICY) \S+ ON {_REL}",
            "ACCESS EXCLUSIVE",
            "brief: the catalog only, no scan",
        ),
        (rf"ALTER SEQUENCE {_REL}", "SHARE ROW EXCLUSIVE", "nextval() goes on"),
        (
            rf"(?:CREATE OR REPLACE VIEW|DROP (?:MATERIALIZED )?VIEW|ALTER VIEW) {_REL}",
            "ACCESS EXCLUSIVE",
            "on the view: queries through it wait (briefly)",
        ),
    )
)

#: The comment a fix writes after a statement whose text does not name every relation it
#: locks (``-- also locks trading.runs ACCESS EXCLUSIVE: why``).
ALSO_LOCKS = "-- also locks"
_ALSO = re.compile(rf"^{ALSO_LOCKS} {_REL} (?P<mode>[A-Z ]+?): (?P<why>.*)$", re.MULTILINE)
_REFERENCES = re.compile(rf"^FOREIGN KEY .*?REFERENCES {_REL}", re.DOTALL)


def reference(definition: str) -> str | None:
    """The table a foreign key's definition (``pg_get_constraintdef``) references."""
    found = _REFERENCES.match(definition)
    return found.group("rel") if found else None


#: How strong each lock is (to keep the strongest per relation).
_STRENGTH = {
    "SHARE UPDATE EXCLUSIVE": 1,
    "SHARE ROW EXCLUSIVE": 2,
    "ACCESS EXCLUSIVE": 3,
}


@dataclass(frozen=True)
class Lock:
    relation: str
    mode: str
    why: str
    #: Taken inside the script's transaction (held until COMMIT), or after it.
    in_transaction: bool


def locks(statements: Iterable[str], *, in_transaction: bool) -> list[Lock]:
    """The relation locks of ``statements`` (SQL text, several statements each)."""
    out: list[Lock] = []
    for text in statements:
        out += [
            Lock(found["rel"], found["mode"], found["why"], in_transaction)
            for found in _ALSO.finditer(text)
            if found["mode"] in _STRENGTH
        ]
        for statement in split(text):
            body = statement.text.strip()
            for pattern, mode, why in _FORMS:
                found = pattern.match(body)
                if found:
                    out.append(Lock(found.group("rel"), mode, why, in_transaction))
                    if found.groupdict().get("ref"):
                        out.append(Lock(found.group("ref"), mode, why, in_transaction))
                    break
    return out


def plan_lines(found: Iterable[Lock]) -> list[str]:
    """The plan as the lines the script and the TUI print: the strongest lock per relation,
    inside the transaction, then after it."""
    strongest: dict[tuple[bool, str], Lock] = {}
    for lock in found:
        key = (lock.in_transaction, lock.relation)
        held = strongest.get(key)
        if held is None or _STRENGTH[lock.mode] > _STRENGTH[held.mode]:
            strongest[key] = lock
    lines = [
        "Lock plan (static, NOT measured: GUESSED from each statement's form; the test suite "
        "checks each form against pg_locks on a real server):"
    ]
    for inside, title in (
        (True, "in the transaction, held until COMMIT"),
        (False, "after COMMIT, one statement at a time"),
    ):
        chosen = sorted(
            (lock for (where, _), lock in strongest.items() if where == inside),
            key=lambda lock: (-_STRENGTH[lock.mode], lock.relation),
        )
        if chosen:
            lines.append(f"  {title}:")
            lines += [f"    {lock.mode} on {lock.relation}: {lock.why}" for lock in chosen]
    if len(lines) == 1:
        lines.append("  no lock on any table or index (privileges, roles, settings only)")
    return lines
