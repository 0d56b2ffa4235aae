"""Privileges as people read them: one line per object and grantee, roles normalised.

``aclexplode`` gives one row per (grantor, grantee, privilege); here they are grouped per
object and grantee and written ``INSERT, SELECT`` (``ALL`` for every table privilege),
``WITH GRANT OPTION`` and ``GRANTED BY`` only when they apply.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from gordon_migrate.drift.kinds import Privileges, format_privileges

# Every table privilege of PostgreSQL 16. PostgreSQL 17 added MAINTAIN, which the owner and
# GRANT ALL now include: a grantee holding all of these is written ``ALL`` whether or not the
# server also lists MAINTAIN, so fixtures are the same on every version. MAINTAIN on its own
# (without the rest) is still shown, and is drift.
TABLE_ALL = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"})
MAINTAIN = "MAINTAIN"

#: ``defaclobjtype`` to the words of ALTER DEFAULT PRIVILEGES.
DEFAULT_ACL_OBJECTS = {
    "r": "tables",
    "S": "sequences",
    "f": "functions",
    "T": "types",
    "n": "schemas",
    "L": "large objects",
}


class AclRow(NamedTuple):
    """``aclexplode`` rows of one grantee, grantor and grant option (the catalog queries
    aggregate them), roles already normalised. A NamedTuple: built in C, 15,000 of them at
    5,000 tables (a frozen dataclass took five times as long)."""

    grantee: str
    grantor: str
    privileges: Sequence[str]
    grantable: bool


Normalise = Callable[[str], str]


def privileges_text(rows: Iterable[AclRow], owner: str, *, table: bool) -> str:
    """``ALL``, ``INSERT, SELECT WITH GRANT OPTION``, ``SELECT GRANTED BY gordon_x``..."""
    if not isinstance(rows, list) or len(rows) != 1:
        return _privileges_text(rows, owner, table=table)
    only = rows[0]  # the usual case: one grant, by the owner, without grant option
    if only.grantable or only.grantor != owner:
        return _privileges_text(rows, owner, table=table)
    # Few distinct sets of privileges, granted again and again: each written once.
    key = (table, *only.privileges)
    text = _SIMPLE.get(key)
    if text is None:
        names = set(only.privileges)
        if table and names >= TABLE_ALL:
            names = (names - TABLE_ALL - {MAINTAIN}) | {"ALL"}
        text = format_privileges([Privileges(_ordered(names))])
        if len(_SIMPLE) < 10_000:
            _SIMPLE[key] = text
    return text


_SIMPLE: dict[tuple[bool | str, ...], str] = {}


def _ordered(names: set[str]) -> tuple[str, ...]:
    """``ALL`` first, then the rest in alphabetical order."""
    if "ALL" in names:
        return ("ALL", *sorted(names - {"ALL"}))
    return tuple(sorted(names))


def _privileges_text(rows: Iterable[AclRow], owner: str, *, table: bool) -> str:
    buckets: dict[tuple[bool, str], set[str]] = defaultdict(set)
    for row in rows:
        grantor = "" if row.grantor == owner else row.grantor
        buckets[(row.grantable, grantor)].update(row.privileges)
    parts = []
    for (grantable, grantor), privileges in sorted(buckets.items()):
        names = set(privileges)
        if table and names >= TABLE_ALL:
            names = (names - TABLE_ALL - {MAINTAIN}) | {"ALL"}
        parts.append(Privileges(_ordered(names), grantable, grantor))
    return format_privileges(parts)


def group(
    rows: Iterable[tuple[str, str, str, str, str, Sequence[str], bool]], normalise: Normalise
) -> dict[tuple[str, str, str], tuple[str, list[AclRow]]]:
    """(kind, name, owner, grantee, grantor, privileges, grantable) rows by (kind, name,
    grantee), with the normalised owner."""
    out: dict[tuple[str, str, str], tuple[str, list[AclRow]]] = {}
    for kind, name, owner, grantee, grantor, privileges, grantable in rows:
        grantee_n = normalise(grantee)
        key = (kind, name, grantee_n)
        entry = out.get(key)
        if entry is None:
            entry = out[key] = (normalise(owner), [])
        entry[1].append(AclRow(grantee_n, normalise(grantor), privileges, bool(grantable)))
    return out
