"""Snapshots of a scratch database's user objects and of one backend's locks, and the facts
of a statement as the difference of two of them (``statement_facts``).

Everything is read from the server: the relations and their relfilenodes (a changed one is a
rewrite), each table's sequential scan counter (a full scan), the objects (what a CASCADE took
with it), and ``pg_locks``. Catalogs are left out: every DDL statement writes to them, which
says nothing about what it blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from gordon_migrate.core.db import Conn
from gordon_migrate.rehearse.model import Lock, StatementFacts, mode_name, strength

_USER = (
    "{ns}.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND {ns}.nspname !~ '^pg_(toast|temp_|toast_temp_)'"
)

_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "i": "index",
    "I": "partitioned index",
    "S": "sequence",
    "v": "view",
    "m": "materialized view",
    "c": "type",
    "f": "foreign table",
}

# pg_stat_get_xact_numscans counts this transaction's sequential scans; outside a transaction
# block (a sampled statement ran as transactions of its own) the cumulative counter is read.
_RELATIONS = """
SELECT c.oid::bigint, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind::text,
       c.relfilenode::bigint,
       CASE WHEN c.relkind IN ('r', 'm') THEN {scans}(c.oid) ELSE 0 END, i.indrelid::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE {user}
"""

# Objects that are not relations, for created and dropped: a CASCADE's victims include
# functions, constraints, triggers, policies, types and schemas.
_OBJECTS = """
SELECT 'pg_proc'::regclass::bigint, p.oid::bigint, pg_describe_object('pg_proc'::regclass, p.oid, 0)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {user}
UNION ALL
SELECT 'pg_constraint'::regclass::bigint, c.oid::bigint,
       pg_describe_object('pg_constraint'::regclass, c.oid, 0)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE {user}
UNION ALL
SELECT 'pg_trigger'::regclass::bigint, t.oid::bigint,
       pg_describe_object('pg_trigger'::regclass, t.oid, 0)
FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = r.relnamespace WHERE NOT t.tgisinternal AND {user}
UNION ALL
SELECT 'pg_policy'::regclass::bigint, p.oid::bigint,
       pg_describe_object('pg_policy'::regclass, p.oid, 0)
FROM pg_policy p JOIN pg_class r ON r.oid = p.polrelid
JOIN pg_namespace n ON n.oid = r.relnamespace WHERE {user}
UNION ALL
SELECT 'pg_type'::regclass::bigint, t.oid::bigint, pg_describe_object('pg_type'::regclass, t.oid, 0)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('d', 'e', 'r', 'm') AND {user}
UNION ALL
SELECT 'pg_namespace'::regclass::bigint, n.oid::bigint,
       pg_describe_object('pg_namespace'::regclass, n.oid, 0)
FROM pg_namespace n WHERE {user} AND n.nspname <> 'public'
""".format(user=_USER.format(ns="n"))

# The catalogs whose rows are the objects of ``_OBJECTS`` or name them, and this transaction's
# inserted, updated and deleted rows in them: counters that never go down, so an unchanged sum
# means no such row changed since it was last read. pg_class is left out (nearly every DDL
# statement updates a table's row there): a rename of a relation, the one change there that
# renames objects (its triggers, constraints, policies), renames its row type in pg_type too.
# A description names an object's schema when the search path does not reach it: the
# effective path (a SET, a SET ROLE's "$user") is part of the fingerprint.
_OBJECT_CATALOGS = (
    "pg_proc",
    "pg_constraint",
    "pg_trigger",
    "pg_policy",
    "pg_type",
    "pg_namespace",
)
_CHANGES = """
SELECT sum(pg_stat_get_xact_tuples_inserted(c) + pg_stat_get_xact_tuples_updated(c)
           + pg_stat_get_xact_tuples_deleted(c))::text || ' ' || current_schemas(true)::text
FROM unnest(ARRAY[{}]::regclass[]) c
""".format(", ".join(f"'{name}'" for name in _OBJECT_CATALOGS))
# A backend's relation and object locks (waiting ones too: a sampled statement may be caught
# queued), each object described while it still exists.
LOCKS_OF = """
SELECT l.locktype, l.relation::bigint, l.classid::bigint, l.objid::bigint, l.objsubid, l.mode,
       CASE WHEN l.locktype = 'object'
            THEN pg_describe_object(l.classid, l.objid, l.objsubid) END
FROM pg_locks l
WHERE l.pid = %s AND l.locktype IN ('relation', 'object')
  AND l.database IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
"""

# In a transaction, in one round trip: the relations (``_RELATIONS``' columns), the counter
# (``_CHANGES``) and the backend's locks (``LOCKS_OF``' columns), each row tagged, as text.
_STATE = """
SELECT 'r', oid::text, name, kind, filenode::text, scans::text, indrelid::text, NULL
FROM ({relations}) r (oid, name, kind, filenode, scans, indrelid)
UNION ALL
SELECT 'c', changes, NULL, NULL, NULL, NULL, NULL, NULL FROM ({changes}) c (changes)
UNION ALL
SELECT 'l', locktype, relation::text, classid::text, objid::text, objsubid::text, mode::text,
       description
FROM ({locks}) l (locktype, relation, classid, objid, objsubid, mode, description)
""".format(
    relations=_RELATIONS.format(scans="pg_stat_get_xact_numscans", user=_USER.format(ns="n")),
    changes=_CHANGES,
    locks=LOCKS_OF,
)

LockKey = tuple[str, int, int, int]
"""('relation', oid, 0, 0) or ('object', classid, objid, objsubid)."""


@dataclass(frozen=True)
class LockRow:
    key: LockKey
    mode: str
    """As in ``model.MODES``."""
    description: str | None


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str
    filenode: int
    scans: int
    table: int | None
    """For an index: its table's oid."""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Snapshot:
    relations: dict[int, Relation]
    objects: dict[tuple[int, int], str]
    changes: str | None = None
    """In a transaction: ``_CHANGES`` when read (whether ``objects`` can be reused)."""


def snapshot(conn: Conn, *, in_transaction: bool) -> Snapshot:
    """The scratch's user relations and objects, as ``conn`` sees them now."""
    scans = "pg_stat_get_xact_numscans" if in_transaction else "pg_stat_get_numscans"
    query = _RELATIONS.format(scans=scans, user=_USER.format(ns="n"))
    relations = _relations(conn.execute(query).fetchall())
    objects = _objects(conn.execute(_OBJECTS).fetchall())
    return Snapshot(relations=relations, objects=objects)


def measured(
    conn: Conn, pid: int, previous: Snapshot | None = None
) -> tuple[Snapshot, set[LockRow]]:
    """In a transaction: ``snapshot`` and the backend's locks (``LOCKS_OF``). The objects are
    read again only when a catalog row they come from changed since ``previous`` (same
    transaction) was read; else
    ``previous``'s are still true and are kept. The relations, the counter and the locks are
    one query (``_STATE``): on this small a scratch, a round trip costs about what each of them
    does, and a pipeline's own overhead more than the round trips it saves."""
    relation_rows, changes, lock_list = [], None, []
    for tag, *row in conn.execute(_STATE, (pid,)).fetchall():
        if tag == "r":
            relation_rows.append(tuple(row[:6]))
        elif tag == "c":
            changes = str(row[0])
        else:
            lock_list.append(tuple(row))
    relations = _relations(relation_rows)
    if previous is not None and previous.changes is not None and changes == previous.changes:
        objects = previous.objects
    else:
        objects = _objects(conn.execute(_OBJECTS).fetchall())
    snap = Snapshot(relations=relations, objects=objects, changes=changes)
    return snap, lock_rows(lock_list)


def _relations(rows: Iterable[tuple[object, ...]]) -> dict[int, Relation]:
    return {
        int(str(oid)): Relation(
            name=str(name),
            kind=_KINDS.get(str(kind), str(kind)),
            filenode=int(str(filenode)),
            scans=_int(count),
            table=None if table is None else int(str(table)),
        )
        for oid, name, kind, filenode, count, table in rows
    }


def _objects(rows: Iterable[tuple[object, ...]]) -> dict[tuple[int, int], str]:
    return {(int(str(classid)), int(str(objid))): str(text) for classid, objid, text in rows}


def lock_rows(rows: Iterable[tuple[object, ...]]) -> set[LockRow]:
    """``LOCKS_OF`` rows as ``LockRow``."""
    out = set()
    for locktype, relation, classid, objid, objsubid, mode, description in rows:
        if locktype == "relation":
            key: LockKey = ("relation", _int(relation), 0, 0)
        else:
            key = ("object", _int(classid), _int(objid), _int(objsubid))
        text = None if description is None else str(description)
        out.add(LockRow(key=key, mode=_mode_name(str(mode)), description=text))
    return out


# A transaction's lock rows are read after each of its statements, the same few modes each time.
_mode_name = functools.cache(mode_name)


def _int(value: object) -> int:
    return int(str(value)) if value is not None else 0


def statement_facts(
    *,
    line: int,
    text: str,
    ms: float,
    before: Snapshot,
    after: Snapshot,
    new_locks: Iterable[LockRow],
    sampled: bool,
) -> StatementFacts:
    """What one statement did: the difference of the snapshots taken around it."""
    rewritten, scanned = [], []
    for oid, rel in after.relations.items():
        old = before.relations.get(oid)
        if old is None:
            continue
        if rel.filenode != old.filenode and rel.kind not in ("view", "type"):
            rewritten.append(rel.name)
        if rel.scans > old.scans:
            scanned.append(rel.name)
    created = [r.label for oid, r in after.relations.items() if oid not in before.relations]
    created += [t for key, t in after.objects.items() if key not in before.objects]
    dropped = [r.label for oid, r in before.relations.items() if oid not in after.relations]
    dropped += [t for key, t in before.objects.items() if key not in after.objects]
    return StatementFacts(
        line=line,
        text=text,
        ms=round(ms, 3),
        locks=_locks(new_locks, before, after),
        rewritten=tuple(sorted(rewritten)),
        scanned=tuple(sorted(scanned)),
        created=tuple(sorted(created)),
        dropped=tuple(sorted(dropped)),
        sampled=sampled,
    )


def _locks(rows: Iterable[LockRow], before: Snapshot, after: Snapshot) -> tuple[Lock, ...]:
    """The strongest mode per user relation and per object; an index's mode also counts for
    its table (the table's entry then names the index it got it through)."""
    relations: dict[int, str] = {}
    objects: dict[str, str] = {}
    for row in rows:
        kind, first, second, _ = row.key
        if kind == "relation":
            if first in after.relations or first in before.relations:
                relations[first] = _stronger(relations.get(first), row.mode)
            continue  # a catalog: every DDL writes to them
        name = row.description or before.objects.get((first, second))
        if name is None:
            # Gone, and never a user object of the snapshot: the internal parts of what the
            # statement dropped or replaced (a foreign key's triggers, a table's row type).
            continue
        objects[name] = _stronger(objects.get(name), row.mode)
    out: dict[int, Lock] = {}
    for oid, mode in relations.items():
        rel = after.relations.get(oid) or before.relations[oid]
        out[oid] = Lock(rel.name, rel.kind, mode, new=oid not in before.relations)
    for oid, mode in relations.items():
        if oid not in before.relations:
            # An index the statement created: no other session could see it while its
            # creator held it, so its lock blocks nobody's use of the table.
            continue
        rel = before.relations[oid]
        if rel.table is None:
            continue
        table = after.relations.get(rel.table) or before.relations.get(rel.table)
        if table is not None:
            out[rel.table] = _stronger_lock(
                out.get(rel.table), Lock(table.name, table.kind, mode, via=rel.name)
            )
    listed = sorted(out.values(), key=lambda lock: (lock.object, lock.kind, lock.new))
    listed += [Lock(name, "object", mode) for name, mode in sorted(objects.items())]
    return tuple(listed)


def _stronger(current: str | None, mode: str) -> str:
    return mode if current is None or strength(mode) > strength(current) else current


def _stronger_lock(current: Lock | None, lock: Lock) -> Lock:
    """The table's own lock wins a tie: ``via`` names an index only when it made the
    difference."""
    if current is None or strength(lock.mode) > strength(current.mode):
        return lock
    return current
