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
# functions, constraints, triggers, policies, types and schemas. One query per catalog,
# read together (``_OBJECTS``) or only those whose rows changed (``measured``).
_OBJECT_QUERIES = {
    name: query.format(user=_USER.format(ns="n"))
    for name, query in {
        "pg_proc": """
SELECT 'pg_proc'::regclass::bigint, p.oid::bigint, pg_describe_object('pg_proc'::regclass, p.oid, 0)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {user}""",
        "pg_constraint": """
SELECT 'pg_constraint'::regclass::bigint, c.oid::bigint,
       pg_describe_object('pg_constraint'::regclass, c.oid, 0)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE {user}""",
        "pg_trigger": """
SELECT 'pg_trigger'::regclass::bigint, t.oid::bigint,
       pg_describe_object('pg_trigger'::regclass, t.oid, 0)
FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = r.relnamespace WHERE NOT t.tgisinternal AND {user}""",
        "pg_policy": """
SELECT 'pg_policy'::regclass::bigint, p.oid::bigint,
       pg_describe_object('pg_policy'::regclass, p.oid, 0)
FROM pg_policy p JOIN pg_class r ON r.oid = p.polrelid
JOIN pg_namespace n ON n.oid = r.relnamespace WHERE {user}""",
        "pg_type": """
SELECT 'pg_type'::regclass::bigint, t.oid::bigint, pg_describe_object('pg_type'::regclass, t.oid, 0)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('d', 'e', 'r', 'm') AND {user}""",
        "pg_namespace": """
SELECT 'pg_namespace'::regclass::bigint, n.oid::bigint,
       pg_describe_object('pg_namespace'::regclass, n.oid, 0)
FROM pg_namespace n WHERE {user} AND n.nspname <> 'public'""",
    }.items()
}
_OBJECTS = "\nUNION ALL\n".join(_OBJECT_QUERIES.values())

# The catalogs of ``_OBJECT_QUERIES``, and this transaction's inserted, and updated or deleted,
# rows in each: counters that never go down, so an unchanged pair means no row of that catalog
# changed since it was last read. pg_class is left out (nearly every DDL statement updates a
# table's row there): a rename or move of a relation, the one change there that renames
# objects (its triggers, constraints, policies), updates its row type in pg_type too.
# A description names an object's schema when the search path does not reach it: the
# effective path (a SET, a SET ROLE's "$user") is part of the fingerprint.
_CHANGES = """
SELECT string_agg(c::oid::text || ':' || c::text || '='
                  || pg_stat_get_xact_tuples_inserted(c)::text || '/'
                  || (pg_stat_get_xact_tuples_updated(c)
                      + pg_stat_get_xact_tuples_deleted(c))::text,
                  ' ' ORDER BY c::text)
       || ' ' || current_schemas(true)::text
FROM unnest(ARRAY[{}]::regclass[]) c
""".format(", ".join(f"'{name}'" for name in _OBJECT_QUERIES))
# What, beyond its own rows, renames objects of other catalogs: a schema's name or the search
# path (every qualified description), a type's (a function's arguments; a relation's row type
# for its constraints, triggers and policies).
_RENAMES_OTHERS = frozenset({"pg_namespace", "pg_type"})
# A backend's relation and object locks (waiting ones too: a sampled statement may be caught
# queued), each object described while it still exists, and whether a locked index is dead by
# now (``indislive`` false: the last step of a concurrent drop or rebuild).
LOCKS_OF = """
SELECT l.locktype, l.relation::bigint, l.classid::bigint, l.objid::bigint, l.objsubid, l.mode,
       CASE WHEN l.locktype = 'object'
            THEN pg_describe_object(l.classid, l.objid, l.objsubid) END,
       EXISTS (SELECT FROM pg_index i WHERE i.indexrelid = l.relation AND NOT i.indislive)
FROM pg_locks l
WHERE l.pid = %s AND l.locktype IN ('relation', 'object')
  AND l.database IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
"""

# After a statement, in a transaction: only the relations this backend holds a lock on
# (``_RELATIONS``' columns, a NULL name for one that no longer exists). A statement cannot
# rewrite, scan, create or drop a relation without locking it, and a transaction keeps its
# relation locks until it ends: so a relation not locked now is as the migration's first
# snapshot read it. That is PostgreSQL's documented rule, not a measurement: the suite holds
# it, rehearsing with the full read (``exhaustive``) and with this one and comparing every fact.
_LOCKED = """
SELECT l.relation::bigint, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       c.relkind::text, c.relfilenode::bigint,
       CASE WHEN c.relkind IN ('r', 'm') THEN pg_stat_get_xact_numscans(c.oid) ELSE 0 END,
       i.indrelid::bigint
FROM (SELECT DISTINCT relation FROM pg_locks
      WHERE pid = %(pid)s AND locktype = 'relation'
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) l
LEFT JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.oid IS NULL OR ({user})
""".format(user=_USER.format(ns="n"))


def _state(relations: str) -> str:
    """In a transaction, in one round trip: ``relations``' rows (``_RELATIONS``' columns), the
    counter (``_CHANGES``) and the backend's locks (``LOCKS_OF``' columns), each row tagged, as
    text; the backend's pid is the parameter ``pid``."""
    return """
SELECT 'r', oid::text, name, kind, filenode::text, scans::text, indrelid::text, NULL, NULL
FROM ({relations}) r (oid, name, kind, filenode, scans, indrelid)
UNION ALL
SELECT 'c', changes, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ({changes}) c (changes)
UNION ALL
SELECT 'l', locktype, relation::text, classid::text, objid::text, objsubid::text, mode::text,
       description, dead::text
FROM ({locks}) l (locktype, relation, classid, objid, objsubid, mode, description, dead)
""".format(relations=relations, changes=_CHANGES, locks=LOCKS_OF.replace("%s", "%(pid)s"))


_STATE = _state(_RELATIONS.format(scans="pg_stat_get_xact_numscans", user=_USER.format(ns="n")))
_STATE_LOCKED = _state(_LOCKED)

LockKey = tuple[str, int, int, int]
"""('relation', oid, 0, 0) or ('object', classid, objid, objsubid)."""


@dataclass(frozen=True)
class LockRow:
    key: LockKey
    mode: str
    """As in ``model.MODES``."""
    description: str | None
    dead: bool = False
    """On an index the server had marked dead when the row was read."""


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
    conn: Conn, pid: int, previous: Snapshot | None = None, *, exhaustive: bool = False
) -> tuple[Snapshot, set[LockRow]]:
    """In a transaction: ``snapshot`` and the backend's locks (``LOCKS_OF``). With
    ``previous`` (same transaction), the relations are read again only where the backend holds
    a lock (``_LOCKED``; all of them when ``exhaustive``), and the objects only when a catalog
    row they come from changed since ``previous`` was read; else ``previous``'s are still true
    and are kept. The relations, the counter and the locks are one query: on this small a
    scratch, a round trip costs about what each of them does, and a pipeline's own overhead
    more than the round trips it saves."""
    incremental = previous is not None and not exhaustive
    relation_rows, changes, lock_list = [], None, []
    state = _STATE_LOCKED if incremental else _STATE
    for tag, *row in conn.execute(state, {"pid": pid}).fetchall():
        if tag == "r":
            relation_rows.append(tuple(row[:6]))
        elif tag == "c":
            changes = str(row[0])
        else:
            lock_list.append(tuple(row))
    if incremental:
        assert previous is not None
        relations = dict(previous.relations)
        for oid, name, kind, filenode, count, table in relation_rows:
            if name is None:  # dropped by this transaction
                relations.pop(int(str(oid)), None)
            else:
                relations.update(_relations([(oid, name, kind, filenode, count, table)]))
    else:
        relations = _relations(relation_rows)
    stale = None if previous is None or exhaustive else _stale(previous.changes, changes)
    if previous is not None and stale is not None:
        objects = previous.objects
        if stale:
            read = "\nUNION ALL\n".join(_OBJECT_QUERIES[name] for _, name in stale)
            gone = {oid for oid, _ in stale}
            objects = {k: v for k, v in objects.items() if k[0] not in gone}
            objects.update(_objects(conn.execute(read).fetchall()))
    else:
        objects = _objects(conn.execute(_OBJECTS).fetchall())
    snap = Snapshot(relations=relations, objects=objects, changes=changes)
    return snap, lock_rows(lock_list)


def _stale(before: str | None, now: str | None) -> list[tuple[int, str]] | None:
    """The catalogs (oid, name) whose objects must be read again, from two ``_CHANGES``
    fingerprints of one transaction; ``None``: every catalog (a schema, a type or the search
    path changed, which renames objects of other catalogs too)."""
    if before is None or now is None:
        return None
    *old, old_path = before.split(" ", len(_OBJECT_QUERIES))
    *new, new_path = now.split(" ", len(_OBJECT_QUERIES))
    if old_path != new_path:
        return None
    stale = []
    for was, counts in zip(old, new, strict=True):
        if was == counts:
            continue
        catalog, _, changed = counts.partition("=")
        oid, _, name = catalog.partition(":")
        if name in _RENAMES_OTHERS and (name == "pg_namespace" or not _inserts_only(was, changed)):
            return None
        stale.append((int(oid), name))
    return stale


def _inserts_only(was: str, now: str) -> bool:
    """Whether a catalog's ``inserted/updated+deleted`` counts grew by inserts alone."""
    return was.partition("=")[2].split("/")[1] == now.split("/")[1]


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
    for locktype, relation, classid, objid, objsubid, mode, description, dead in rows:
        if locktype == "relation":
            key: LockKey = ("relation", _int(relation), 0, 0)
        else:
            key = ("object", _int(classid), _int(objid), _int(objsubid))
        text = None if description is None else str(description)
        # A bool from the sampler's query, text from the tagged rows of ``_STATE``.
        gone = dead is True or dead == "true"
        out.add(LockRow(key=key, mode=_mode_name(str(mode)), description=text, dead=gone))
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
    its table (the table's entry then names the index it got it through), unless the index
    was dead when it took it (a reader of the table no longer opens it): that lock is listed
    on the index alone, marked dead."""
    relations: dict[int, str] = {}
    live: dict[int, str] = {}
    objects: dict[str, str] = {}
    for row in rows:
        kind, first, second, _ = row.key
        if kind == "relation":
            if first in after.relations or first in before.relations:
                relations[first] = _stronger(relations.get(first), row.mode)
                if not row.dead:
                    live[first] = _stronger(live.get(first), row.mode)
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
        dead = strength(mode) > strength(live.get(oid, ""))
        out[oid] = Lock(rel.name, rel.kind, mode, new=oid not in before.relations, dead=dead)
    for oid, mode in live.items():
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
    difference; between two indexes, the first by name (the same answer whatever order
    ``pg_locks`` listed them in)."""
    if current is None or strength(lock.mode) > strength(current.mode):
        return lock
    tie = strength(lock.mode) == strength(current.mode)
    if tie and current.via is not None and lock.via is not None and lock.via < current.via:
        return lock
    return current
