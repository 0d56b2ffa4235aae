"""The canonical snapshot: every Gordon schema read from ``pg_catalog`` and written as sorted
lines, the same on PostgreSQL 15, 16 and 18 and whatever the OIDs or the creation order.

Normalisation, so that fixtures built in a test cluster match production:
- the role that ran the migrations (owner of ``public._sqlx_migrations``) is ``<migrator>``
  wherever it appears (owners, grantors, default-privilege owners); the owner of schema
  ``public`` (the template's, not the migrations') is ``<database owner>``;
- the session pins ``search_path``, ``TimeZone``, ``DateStyle``... so deparsed expressions
  are qualified and formatted the same on every server;
- view definitions from PostgreSQL 15 lose the qualifiers 16+ no longer prints (``viewdefs``);
- NOT NULL constraints that PostgreSQL 18 keeps in ``pg_constraint`` are left out (the
  column's ``not null`` facet says the same on every version); ``MAINTAIN`` (PostgreSQL 17+)
  folds into ``ALL`` (see ``grants``);
- function bodies are compared as stored (``prosrc``), not as ``pg_get_functiondef`` prints
  them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

import psycopg
import structlog
from psycopg import sql

from gordon_migrate.core.db import Conn, mapped, server_version
from gordon_migrate.core.errors import LOCK_NOT_AVAILABLE, DriftError, GordonError, ServerError
from gordon_migrate.drift import grants, queries
from gordon_migrate.drift import rows as r
from gordon_migrate.drift.catalogs import (
    BUILTIN_LANGUAGES,
    FIRST_USER_OID,
    REACHING_ROLES,
    unmapped_columns,
)
from gordon_migrate.drift.kinds import (
    BUILT_IN,
    RELATION_KINDS,
    DefaultPrivilegesKey,
    format_default_privileges_key,
    format_grant_key,
    format_key,
    format_member_key,
    split_grantee,
)
from gordon_migrate.drift.model import (
    BOOTSTRAP,
    DATABASE_OWNER,
    MIGRATOR,
    THIS_DATABASE,
    CheckName,
    Line,
    Snapshot,
    line_of,
    sorted_lines,
)
from gordon_migrate.sql import notify

#: Session settings of every snapshot: deparsed SQL must not depend on the server's defaults.
SESSION_SETTINGS = {
    "search_path": "pg_catalog",
    "TimeZone": "UTC",
    "DateStyle": "ISO",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "standard_conforming_strings": "on",
    "quote_all_identifiers": "off",
    # Relations other sessions lock are not opened (see queries.LOCKS); this only bounds the
    # wait for a lock taken between that look and the read, which is then retried once.
    "lock_timeout": "3s",
    "statement_timeout": "120s",
    # Catalog reads gain nothing from parallel workers or JIT, and a check that runs every
    # few minutes must not take the workers the trading queries are given
    # (max_parallel_workers), nor compile plans once the catalogs are big enough to cross
    # jit_above_cost. The privileges query went parallel from ~5,000 tables on.
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
}

log = structlog.get_logger("gordon_migrate.drift")

_RELKIND = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "S": "sequence",
    "f": "foreign table",
}
_PERSISTENCE = {"p": "", "u": "unlogged", "t": "temporary"}
_REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full", "i": "index"}
_PROKIND = {"f": "function", "p": "procedure", "a": "aggregate", "w": "window function"}
_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
_PARALLEL = {"s": "safe", "r": "restricted", "u": "unsafe"}
_TRIGGER_ENABLED = {"O": "enabled", "D": "disabled", "R": "replica only", "A": "always"}
_POLICY_COMMAND = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
_TYPTYPE = {
    "e": "enum",
    "c": "composite",
    "r": "range",
    "d": "domain",
    "b": "base",
    "p": "shell",
}
_IDENTITY = {"a": "always", "d": "by default"}
_GENERATED = {"s": "stored", "v": "virtual"}


def yes(flag: object) -> str:
    return "yes" if flag else "no"


def number(value: float) -> str:
    return f"{value:g}"


def clean_sql(text: str) -> str:
    """Deparsed SQL without the server's edge whitespace (and without CR line ends)."""
    if "\n" not in text:  # one line (every index and most constraints): the same, cheaper
        return text.strip()
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def clean_body(text: str) -> str:
    """A function body as stored, line ends normalised."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


Batch = list[tuple[str, type[Any]]]


class _Reader:
    """Runs the catalog queries of one snapshot (and counts them).

    The queries go out in batches through the connection's pipeline. Taking the first
    result of a batch waits for the whole batch (psycopg reads every result sent so far),
    so the next batch is sent right then: the server works through it while the Python
    canonicalises the batch just in. ``typed`` takes a sent query's result (or runs the
    query there and then), each row read by column name (``rows.named_row``)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.count = 0
        #: The reader of the sibling connection (``take``'s ``sibling``), if any: the queries
        #: sent there are taken from it.
        self.side: _Reader | None = None
        self._sent: dict[str, psycopg.Cursor[Any]] = {}
        self._batches: list[Batch] = []
        self._in_flight: set[str] = set()

    def send(self, query: str, row_type: type[Any]) -> None:
        cursor: psycopg.Cursor[Any] = self.conn.cursor(row_factory=r.named_row(row_type))
        cursor.execute(query)
        self._sent[query] = cursor
        self._in_flight.add(query)
        self.count += 1

    def send_batches(self, batches: Sequence[Batch]) -> None:
        """Send the first batch now, each next one once the previous one is in."""
        self._batches = [list(batch) for batch in batches]
        self._send_next()

    def queue(self, batches: Sequence[Batch]) -> None:
        """The batches to send after those sent (before any result is taken)."""
        self._batches = [list(batch) for batch in batches]

    def _send_next(self) -> None:
        if self._batches:
            for query, row_type in self._batches.pop(0):
                self.send(query, row_type)

    def _result(self, query: str) -> list[Any] | None:
        cursor = self._sent.pop(query, None)
        if cursor is None:
            return None
        with cursor:
            rows = cursor.fetchall()
        if query in self._in_flight:  # that fetch brought in everything sent so far
            self._in_flight.clear()
            self._send_next()
        return rows

    @property
    def total(self) -> int:
        """Queries sent on both connections."""
        return self.count + (self.side.count if self.side else 0)

    def typed(self, query: str, row_type: type[r.T]) -> list[r.T]:
        """Rows as ``row_type`` (a NamedTuple of ``rows``, fields named as the columns)."""
        if self.side is not None and query in self.side._sent:
            return self.side.typed(query, row_type)
        sent = self._result(query)
        if sent is not None:
            return sent
        self.count += 1
        with self.conn.cursor(row_factory=r.named_row(row_type)) as cursor:
            return cursor.execute(query).fetchall()


#: What the sibling connection reads (``take``), if there is one, in batches: the heaviest
#: server work (deparsing columns and indexes), which the Python reads after the privileges,
#: so the sibling's backend works through it while the first one reads those; then what the
#: connected role could write, read last. Constraints stay with the first connection, which
#: is otherwise idle by then: the sibling's share was the longest wait (measured at 5,000
#: tables, snapshots interleaved: 0.545 -> 0.484 s).
_SIDE = (
    frozenset({queries.COLUMNS, queries.INDEXES}),
    # PostgreSQL's own objects: the same work whatever the size, taken off the first
    # connection, whose share grows with the tables.
    frozenset(
        {
            queries.BUILTIN_ACLS,
            queries.SYSTEM_OBJECTS,
            queries.BUILTIN_LANGUAGES,
            queries.BUILTIN_DIGEST,
            queries.WRITE_PRIVILEGES,
        }
    ),
)


def _lanes(server: int, *, sibling: bool) -> tuple[list[Batch], list[Batch]]:
    """(the batches of the connection, those of the sibling): the same queries either way."""
    batches = _pipeline(server)
    if not sibling:
        return batches, []
    moved = frozenset().union(*_SIDE)
    main = [[pair for pair in batch if pair[0] not in moved] for batch in batches]
    main = [batch for batch in main if batch]
    side = [[pair for batch in batches for pair in batch if pair[0] in lane] for lane in _SIDE]
    # After the privileges and the relations, one batch: what is left is light (constraints
    # aside), and a batch of its own would wait for the constraints to be taken.
    rest = [pair for batch in main[2:] for pair in batch]
    return [*main[:2], *([rest] if rest else [])], side


def _pipeline(server: int) -> list[Batch]:
    """Every query after the lock look-up, in the order the snapshot reads them, in batches
    that keep the server busy while the Python works on the batch before (``_Reader``)."""
    memberships = queries.MEMBERSHIPS if server >= 160000 else queries.MEMBERSHIPS_PG15
    return [
        [
            (queries.CONTEXT, r.ContextRow),
            (queries.GRANTS, r.GrantRow),
            (queries.DEFAULT_ACLS, r.DefaultAclRow),
        ],
        [
            (queries.COLUMN_GRANTS, r.GrantRow),
            (queries.SCHEMAS, r.SchemaRow),
            (queries.EXTENSIONS, r.ExtensionRow),
            (queries.RELATIONS, r.RelationRow),
        ],
        [(queries.COLUMNS, r.ColumnRow), (queries.CONSTRAINTS, r.ConstraintRow)],
        [
            (queries.INDEXES, r.IndexRow),
            (queries.TYPES, r.TypeRow),
            (queries.STATISTICS, r.StatisticsRow),
            (queries.GENERIC, r.GenericRow),
            (queries.FUNCTIONS, r.FunctionRow),
            (queries.TRIGGERS, r.TriggerRow),
            (queries.RULES, r.RuleRow),
            (queries.POLICIES, r.PolicyRow),
            (queries.ROLES, r.RoleRow),
            (memberships, r.MembershipRow),
            (queries.DATABASE, r.DatabaseRow),
            (queries.ROLE_SETTINGS_HERE, r.RoleSettingRow),
            (queries.NOT_NULLS, r.NotNullRow),
            (queries.EXTENSION_MEMBERS, r.ExtensionMemberRow),
            (queries.BUILTIN_ACLS, r.BuiltinAclRow),
            (queries.SYSTEM_OBJECTS, r.SystemObjectRow),
            (queries.BUILTIN_LANGUAGES, r.BuiltinLanguageRow),
            (queries.BUILTIN_DIGEST, r.BuiltinDigestRow),
            (queries.CATALOG_COLUMNS, r.CatalogColumnsRow),
            (queries.WRITE_PRIVILEGES, r.WriteAccessRow),
        ],
    ]


def take(
    conn: Conn,
    roles: Collection[str] = (),
    *,
    sibling: Callable[[], Conn] | None = None,
    builtin_digests: Mapping[int, str] | None = None,
) -> Snapshot:
    """Snapshot the connected database in one READ ONLY, REPEATABLE READ transaction.

    ``roles``: Gordon roles to describe even when nothing in the schemas refers to them (a
    role that holds no privilege, like ``gordon_drift_reader``); roles that own or are
    granted something are always described.

    Relations another session holds ACCESS EXCLUSIVE on are not opened: their deparsed
    definitions read ``queries.UNREAD`` and ``Snapshot.unread`` names them and the holder.
    A lock taken while the snapshot runs is waited for up to ``lock_timeout``, then the
    snapshot is taken again once (the lock is then known); a second timeout raises
    ``DriftError`` naming the locked relations and their holders.

    ``sibling``: opens a second connection like ``conn`` (same role, same session settings),
    used when the database holds ``SIBLING_FROM`` relations or more. It reads part of the
    catalogs in a transaction that imports ``conn``'s snapshot (``pg_export_snapshot``), so
    both read the same state while the two backends work at the same time: the same queries
    (one more: the import) and the same snapshot as without it. When it cannot be opened (no
    free connection slot...), everything is read through ``conn``.
    """
    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    digests = dict(builtin_digests or {})
    try:
        with mapped():
            return _take(conn, roles, sibling, digests)
    except ServerError as exc:
        if exc.sqlstate != LOCK_NOT_AVAILABLE:
            raise
    try:
        with mapped():
            return _take(conn, roles, sibling, digests)
    except ServerError as exc:
        if exc.sqlstate != LOCK_NOT_AVAILABLE:
            raise
        held = _holders(conn)
    raise DriftError(
        f"the catalogs could not be read: {held or 'a relation is locked'} (ACCESS EXCLUSIVE; "
        f"waited {SESSION_SETTINGS['lock_timeout']} twice): run drift-check again once that "
        "transaction ends"
    )


#: Relations (tables, indexes, TOAST tables...) created in the database from which a second
#: connection pays: below, connecting costs more than the overlap saves. Measured (whole
#: processes, interleaved, 2 loaded cores): 6% slower with 1,000 extra tables (~4,000
#: relations), 8% faster with 2,500 and 14% with 5,000; the v7 schema has ~170.
SIBLING_FROM = 6000


@contextmanager
def _opened(sibling: Callable[[], Conn] | None) -> Iterator[Conn | None]:
    if sibling is None:
        yield None
        return
    try:
        other = sibling()
    except GordonError as exc:
        log.info("catalogs read over one connection: no second one", reason=str(exc))
        yield None
        return
    with other:
        other.read_only = True
        other.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        yield other


def _holders(conn: Conn) -> str:
    """``trading.fills locked by pid 42 (app_user)``... for the error of a lock timeout."""
    try:
        with mapped(), conn.cursor(row_factory=r.named_row(r.HolderRow)) as cursor:
            holders = cursor.execute(queries.HOLDERS).fetchall()
    except ServerError as exc:
        if exc.sqlstate != LOCK_NOT_AVAILABLE:
            raise
        return ""
    return "; ".join(
        f"{h.relation} {'locked' if h.granted else 'awaited'} by pid {h.pid}"
        + (f" ({h.user})" if h.user else "")
        for h in holders
    )


def _take(
    conn: Conn,
    roles: Collection[str],
    sibling: Callable[[], Conn] | None,
    digests: dict[int, str],
) -> Snapshot:
    reader = _Reader(conn)
    server = conn.info.server_version
    with conn.transaction():
        unreadable, unread = _unreadable(reader)
        reader.count += 1
        setting = "{" + ",".join(str(o) for o in sorted(unreadable)) + "}"
        # The snapshot is exported (for the sibling) only when the database is big enough.
        exported = conn.execute(
            "SELECT set_config(%s, %s, true), CASE WHEN %s AND "
            f"(SELECT count(*) FROM pg_class WHERE oid >= {FIRST_USER_OID}) >= %s "
            "THEN pg_export_snapshot() END",
            (queries.UNREADABLE_SETTING, setting, sibling is not None, SIBLING_FROM),
        ).fetchone()
        snapshot_id = None if exported is None else exported[1]
        with conn.pipeline():
            # The first batch is the same with a sibling or without: the server starts on it
            # while the sibling connects.
            reader.send_batches(_lanes(server, sibling=False)[0][:1])
            with _opened(sibling if snapshot_id is not None else None) as other:
                main, side = _lanes(server, sibling=other is not None)
                reader.queue(main[1:])
                if other is None:
                    return _read(conn, reader, roles, unread, digests)
                return _read_with(
                    conn, reader, other, str(snapshot_id), setting, side, roles, unread, digests
                )


def _read_with(
    conn: Conn,
    reader: _Reader,
    other: Conn,
    snapshot_id: str,
    setting: str,
    side: list[Batch],
    roles: Collection[str],
    unread: tuple[str, ...],
    digests: dict[int, str],
) -> Snapshot:
    """``_read``, the ``side`` batches read through the sibling connection ``other``."""
    reader.side = _Reader(other)
    with other.transaction():
        # The first statement of the sibling's transaction: the same snapshot.
        reader.side.count += 1
        other.execute(
            sql.SQL("SET TRANSACTION SNAPSHOT {}; SELECT set_config({}, {}, true)").format(
                snapshot_id, queries.UNREADABLE_SETTING, setting
            )
        )
        with other.pipeline():
            reader.side.send_batches(side)
            return _read(conn, reader, roles, unread, digests)


def _read(
    conn: Conn,
    reader: _Reader,
    roles: Collection[str],
    unread: tuple[str, ...],
    digests: dict[int, str],
) -> Snapshot:
    """The snapshot from the queries ``_take`` sent."""
    context = reader.typed(queries.CONTEXT, r.ContextRow)[0]
    migrator = context.migrator
    public_owners = {"pg_database_owner", context.database_owner, context.bootstrap}

    def role(name: str) -> str:
        return MIGRATOR if name == migrator else name

    def public_role(name: str) -> str:
        """Roles of schema ``public``: its owner is the template's, not the migrations'."""
        return DATABASE_OWNER if name in public_owners else role(name)

    # Privileges first: the most Python work, done while the server deparses the schema.
    grant_lines, referenced, parameter_lines = _grant_lines(reader, role, public_role)
    column_lines, column_roles = _column_grant_lines(reader, role)
    column_section = sorted_lines(column_lines)
    referenced |= column_roles
    schema = _schema_lines(reader, role, public_role)
    schema += _generic_lines(reader.typed(queries.GENERIC, r.GenericRow), role)
    functions = reader.typed(queries.FUNCTIONS, r.FunctionRow)
    triggers = reader.typed(queries.TRIGGERS, r.TriggerRow)
    rules = reader.typed(queries.RULES, r.RuleRow)
    policies = reader.typed(queries.POLICIES, r.PolicyRow)
    schema += _function_lines(functions, role)
    schema += _trigger_lines(triggers)
    schema += _rule_lines(rules)
    schema += _policy_lines(policies, role)
    referenced |= {role(name) for policy in policies for name in policy.roles}
    described = referenced | set(roles)
    # Parameter privileges are the cluster's: only those of Gordon roles are this
    # database's business.
    # The bootstrap superuser's own (it holds every parameter privilege) are not Gordon's.
    bootstrap = role(context.bootstrap)
    grant_lines += [
        line
        for line in parameter_lines
        if _grantee(line) in described and _grantee(line) != bootstrap
    ]
    grant_lines += _role_lines(reader, role, migrator, described)
    grant_lines += _database_lines(reader, role)
    schema += _not_null_lines(reader.typed(queries.NOT_NULLS, r.NotNullRow))
    schema += _member_lines(reader.typed(queries.EXTENSION_MEMBERS, r.ExtensionMemberRow))

    def builtin_role(name: str) -> str:
        return BOOTSTRAP if name == context.bootstrap else role(name)

    pinned_digest = digests.get(conn.info.server_version // 10000)
    builtins, initdb = _builtin_lines(reader, builtin_role, pinned_digest)
    columns = reader.typed(queries.CATALOG_COLUMNS, r.CatalogColumnsRow)
    unmapped = unmapped_columns({row.relation: set(row.columns) for row in columns})
    notify_lines, undetermined = _notify_lines(functions, triggers, rules)
    write_access = tuple(
        row.access for row in reader.typed(queries.WRITE_PRIVILEGES, r.WriteAccessRow)
    )
    if "superuser" in write_access:  # says it all
        write_access = ("superuser",)
    version = server_version(conn)
    sections: dict[CheckName, tuple[Line, ...]] = {
        "schema": sorted_lines(schema),
        "grants": sorted_lines(grant_lines),
        "column_grants": column_section,
        "notify": sorted_lines(notify_lines),
        "builtins": sorted_lines(builtins),
    }
    return Snapshot(
        sections=sections,
        database=context.database,
        user=context.user,
        server_version=version,
        migrator=migrator,
        undetermined_channels=sorted_lines(undetermined),
        has_history=bool(context.has_history),
        write_access=write_access,
        queries=reader.total,
        unread=unread,
        builtins_initdb=sorted_lines(initdb),
        bootstrap=context.bootstrap,
        unmapped=tuple(unmapped),
        unknown_roles=_unknown_roles(sections),
    )


def _unreadable(reader: _Reader) -> tuple[set[int], tuple[str, ...]]:
    """Relations not to open (locked by another session, or views reading one), and a
    sentence per lock naming the relation and the holder."""
    oids: set[int] = set()
    held: dict[int, str] = {}
    sentences: list[str] = []
    for lock in reader.typed(queries.LOCKS, r.LockRow):
        oids.add(int(lock.relation))
        if lock.name is None:
            continue
        held[int(lock.relation)] = lock.name
        state = "holds" if lock.granted else "waits for"
        user, application = lock.user, lock.application
        who = (
            f"pid {lock.pid}"
            + (f" ({user}" if user else "")
            + (f", application {application!r})" if user and application else (")" if user else ""))
        )
        sentences.append(
            f"{lock.name}: {who} {state} ACCESS EXCLUSIVE on it, so its definitions (and those of "
            "views reading it) were not read; run drift-check again once that transaction ends"
        )
    return oids, tuple(sorted(set(sentences)))


_OBJECT_VALUE = (attrgetter("object"), attrgetter("value"))


def _unknown_roles(sections: Mapping[CheckName, Sequence[Line]]) -> tuple[str, ...]:
    """Privileges naming a role OID pg_roles does not hold (``UNKNOWN_ROLE``), by object."""
    lines = [*sections["grants"], *sections["column_grants"]]
    # One search in C over everything first: there is nearly never one.
    if all(UNKNOWN_ROLE not in "\n".join(map(field, lines)) for field in _OBJECT_VALUE):
        return ()
    return tuple(
        sorted(
            {
                line.object
                for line in lines
                if (UNKNOWN_ROLE in line.object or UNKNOWN_ROLE in line.value)
                and not line.object.startswith("role ")  # the grants say which
            }
        )
    )


def _grantee(line: Line) -> str | None:
    return split_grantee(line.object)[1]


#: How pg_get_userbyid names a role OID that pg_roles does not hold.
UNKNOWN_ROLE = "unknown (OID="

#: The object of the pinned digest of every built-in function together.
ALL_BUILTIN_FUNCTIONS = f"{BUILT_IN}every function"


def _builtin_lines(
    reader: _Reader, role: Callable[[str], str], pinned_digest: str | None
) -> tuple[list[Line], list[Line]]:
    """(the built-ins as they are, the privileges initdb gave those that differ).

    Privileges: only the objects whose privileges differ from pg_init_privs are listed, on both
    sides; information_schema's (not recorded there) are listed whenever not the default and
    compared with those pinned per major. Objects made in a system schema after initdb. The
    digest of every built-in function's definition, compared with the pinned one per major."""
    now: list[tuple[str, str, str, str, str, list[str], bool]] = []
    initdb: list[tuple[str, str, str, str, str, list[str], bool]] = []
    for row in reader.typed(queries.BUILTIN_ACLS, r.BuiltinAclRow):
        pinned = row.name == "information_schema" or row.name.startswith("information_schema.")
        if pinned and row.side == "initdb":
            continue
        side = now if row.side == "now" else initdb
        side.append(
            (row.kind, row.name, row.owner, row.grantee, row.grantor, row.privileges, row.grantable)
        )
    lines: dict[str, list[Line]] = {"now": [], "initdb": []}
    for name, raw in (("now", now), ("initdb", initdb)):
        for (kind, obj, grantee), (owner, acl) in grants.group(raw, role).items():
            text = grants.privileges_text(acl, owner, table=kind in RELATION_KINDS)
            key = BUILT_IN + format_grant_key(kind, obj, grantee)
            lines[name].append(line_of((key, "privileges", text)))
    out = lines["now"]
    for kind, identity in reader.typed(queries.SYSTEM_OBJECTS, r.SystemObjectRow):
        out.append(Line(BUILT_IN + format_key(kind, identity), "made after initdb"))
    for name, definition in reader.typed(queries.BUILTIN_LANGUAGES, r.BuiltinLanguageRow):
        shipped = BUILTIN_LANGUAGES.get(name)
        if definition != shipped:
            key = BUILT_IN + format_key("language", name)
            out.append(Line(key, "definition", definition))
            if shipped is not None:
                lines["initdb"].append(Line(key, "definition", shipped))
    digest = reader.typed(queries.BUILTIN_DIGEST, r.BuiltinDigestRow)[0].digest
    out.append(Line(ALL_BUILTIN_FUNCTIONS, "digest", digest))
    if digest != pinned_digest:  # which functions differ, then (or fixtures are built)
        functions = reader.typed(queries.BUILTIN_FUNCTIONS, r.BuiltinFunctionRow)
        out += [
            Line(BUILT_IN + format_key("function", name), "digest", value)
            for name, value in functions
        ]
    return out, lines["initdb"]


def function_digest(functions: Iterable[tuple[str, str]]) -> str:
    """The digest of every built-in function's (name, digest) in name order: what
    ``queries.BUILTIN_DIGEST`` computes on the server."""
    text = "\n".join(f"{name}\t{digest}" for name, digest in functions)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _not_null_lines(rows: Iterable[r.NotNullRow]) -> list[Line]:
    """PostgreSQL 18's NOT NULL constraints that are NOT VALID or NO INHERIT (see queries)."""
    out = []
    for name, validated, no_inherit in rows:
        state = ", ".join(
            word for word, on in (("not valid", not validated), ("no inherit", no_inherit)) if on
        )
        out.append(Line(format_key("column", name), "not null constraint", state))
    return out


def _member_lines(rows: Iterable[r.ExtensionMemberRow]) -> list[Line]:
    return [
        Line(format_member_key(extension, kind, identity), "member")
        for extension, kind, identity in rows
    ]


def _generic_lines(rows: Iterable[r.GenericRow], role: Callable[[str], str]) -> list[Line]:
    """Objects of the generic catalogs (``catalogs``): each with its owner and facets."""
    out: list[Line] = []
    for kind, identity, owner, facets in rows:
        obj = format_key(kind, identity)
        out.append(Line(obj, "owner", role(owner)) if owner else Line(obj, "exists"))
        for facet, value in zip(facets[::2], facets[1::2], strict=True):
            if value:
                out.append(Line(obj, str(facet), str(value)))
    return out


def _database_lines(reader: _Reader, role: Callable[[str], str]) -> list[Line]:
    """This database's options and the settings every session in it starts with."""
    this = reader.typed(queries.DATABASE, r.DatabaseRow)[0]
    limit = this.connection_limit
    obj = format_key("database", THIS_DATABASE)
    out = [
        Line(obj, "connection limit", "none" if limit < 0 else str(limit)),
        Line(obj, "allow connections", yes(this.allow_connections)),
        Line(obj, "is template", yes(this.is_template)),
    ]
    for setting in this.settings:
        key, _, value = str(setting).partition("=")
        out.append(Line(obj, f"setting {key}", value))
    for setting in this.everywhere:
        key, _, value = str(setting).partition("=")
        out.append(Line("all roles in all databases", f"setting {key}", value))
    for name, setting in reader.typed(queries.ROLE_SETTINGS_HERE, r.RoleSettingRow):
        key, _, value = str(setting).partition("=")
        out.append(Line(f"role {role(str(name))}", f"setting in this database {key}", value))
    return out


# --- schema ---------------------------------------------------------------------------------


def _schema_lines(
    reader: _Reader, role: Callable[[str], str], public_role: Callable[[str], str]
) -> list[Line]:
    out: list[Line] = []
    for name, owner in reader.typed(queries.SCHEMAS, r.SchemaRow):
        owner_text = public_role(owner) if name == "public" else role(owner)
        out.append(Line(format_key("schema", name), "owner", owner_text))
    for name, version, where, installer in reader.typed(queries.EXTENSIONS, r.ExtensionRow):
        obj = format_key("extension", name)
        out += [Line(obj, "version", version), Line(obj, "schema", where)]
        # The bootstrap superuser's (initdb's plpgsql) is not named: its name is per cluster.
        out.append(Line(obj, "owner", BOOTSTRAP if installer is None else role(installer)))
    old_viewdefs = reader.conn.info.server_version < 160000
    out += _relation_lines(reader.typed(queries.RELATIONS, r.RelationRow), role, old_viewdefs)
    out += _column_lines(reader.typed(queries.COLUMNS, r.ColumnRow))
    for owner, on_domain, name, definition in reader.typed(queries.CONSTRAINTS, r.ConstraintRow):
        kind = "domain constraint" if on_domain else "constraint"
        out.append(
            line_of((format_key(kind, f"{owner}.{name}"), "definition", clean_sql(definition)))
        )
    # indisclustered is not read: CLUSTER ... USING is maintenance, not drift.
    for name, definition, valid, replident in reader.typed(queries.INDEXES, r.IndexRow):
        obj = format_key("index", name)
        out += [
            line_of((obj, "definition", clean_sql(definition))),
            line_of((obj, "valid", yes(valid))),
        ]
        if replident:
            out.append(Line(obj, "replica identity", "yes"))
    out += _type_lines(reader.typed(queries.TYPES, r.TypeRow), role)
    for name, definition, owner in reader.typed(queries.STATISTICS, r.StatisticsRow):
        obj = format_key("statistics", name)
        out += [Line(obj, "definition", clean_sql(definition)), Line(obj, "owner", role(owner))]
    return out


def _relation_lines(
    rows: Iterable[r.RelationRow], role: Callable[[str], str], old_viewdefs: bool
) -> list[Line]:
    out: list[Line] = []
    for row in rows:
        relkind, name = row.relkind, row.name
        obj = format_key(_RELKIND[relkind], name)
        if name in queries.TOOL_TABLE_NAMES:
            # The tool's bookkeeping: its structure is the tool's, but switching on row level
            # security on it is drift (its grants, triggers and policies are compared too).
            if row.rls or row.force_rls:
                out.append(Line(obj, "row level security", "enabled" if row.rls else "disabled"))
                out.append(Line(obj, "force row level security", yes(row.force_rls)))
            continue
        facets: dict[str, str] = {"owner": role(row.owner)}
        if row.options:
            facets["options"] = row.options
        if relkind in ("r", "p", "f", "m") and _PERSISTENCE[row.persistence]:
            facets["persistence"] = _PERSISTENCE[row.persistence]
        if row.access_method:
            facets["access method"] = row.access_method
        if row.of_type:
            facets["of type"] = row.of_type
        if relkind in ("r", "p"):
            facets["row level security"] = "enabled" if row.rls else "disabled"
            facets["force row level security"] = yes(row.force_rls)
            facets["replica identity"] = _REPLICA_IDENTITY[row.replident]
        if row.partkey:
            facets["partition key"] = row.partkey
        if row.bound is not None:
            facets["partition of"] = f"{row.inherits} {row.bound}"
        elif row.inherits:
            facets["inherits"] = row.inherits
        if row.viewdef is not None:
            viewdef = row.viewdef
            if old_viewdefs and viewdef != queries.UNREAD:
                from gordon_migrate.drift import viewdefs  # pglast: PostgreSQL 15 only

                viewdef = viewdefs.unqualify_single_relation(viewdef)
            facets["definition"] = clean_sql(viewdef)
        if relkind == "S":
            facets |= {
                "type": str(row.seqtype),
                "start": str(row.seq_start),
                "increment": str(row.seq_increment),
                "min": str(row.seq_min),
                "max": str(row.seq_max),
                "cache": str(row.seq_cache),
                "cycle": yes(row.seq_cycle),
            }
            if row.owned_by:
                facets["owned by"] = row.owned_by
        out += [line_of((obj, facet, value)) for facet, value in facets.items()]
    return out


def _column_lines(rows: Iterable[r.ColumnRow]) -> list[Line]:
    out: list[Line] = []
    append = out.append
    # Keys and flags written inline (not format_key, yes): one row per column of every table.
    for relkind, name, position, type_, notnull, identity, generated, default, collation in rows:
        # Facets in alphabetical order, as the snapshot sorts them (a cheaper sort).
        if relkind == "c":
            obj = f"attribute {name}"
            if collation:
                append(line_of((obj, "collation", collation)))
            append(line_of((obj, "position", str(position))))
            append(line_of((obj, "type", type_)))
            continue
        if relkind == "v":  # listed only with a default (queries.COLUMNS)
            append(line_of((f"column {name}", "default", default or "")))
            continue
        obj = f"column {name}"
        if collation:
            append(line_of((obj, "collation", collation)))
        if generated and default is not None:
            append(line_of((obj, "generated", f"{_GENERATED[generated]} ({default})")))
        elif default is not None:
            append(line_of((obj, "default", default)))
        if identity:
            append(line_of((obj, "identity", _IDENTITY[identity])))
        append(line_of((obj, "not null", "yes" if notnull else "no")))
        append(line_of((obj, "position", str(position))))
        append(line_of((obj, "type", type_)))
    return out


def _type_lines(rows: Iterable[r.TypeRow], role: Callable[[str], str]) -> list[Line]:
    out: list[Line] = []
    for name, typtype, owner, labels, base, notnull, default, subtype, collation in rows:
        kind = _TYPTYPE[typtype]
        obj = format_key("domain" if typtype == "d" else "type", name)
        out += [Line(obj, "kind", kind), Line(obj, "owner", role(owner))]
        if labels is not None:
            out.append(Line(obj, "labels", ", ".join(_quote_literal(x) for x in labels)))
        if base is not None:
            out += [Line(obj, "base type", base), Line(obj, "not null", yes(notnull))]
        if default is not None:
            out.append(Line(obj, "default", default))
        if subtype is not None:
            out.append(Line(obj, "subtype", subtype))
        if collation:
            out.append(Line(obj, "collation", collation))
    return out


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _function_lines(rows: Iterable[r.FunctionRow], role: Callable[[str], str]) -> list[Line]:
    out: list[Line] = []
    for row in rows:
        obj = format_key(_PROKIND[row.prokind], row.name)
        facets: dict[str, str] = {
            "owner": role(row.owner),
            "arguments": row.arguments,
            "language": row.language,
            "security": "definer" if row.secdef else "invoker",
        }
        if row.prokind != "p":
            facets |= {
                "returns": str(row.result),
                "volatility": _VOLATILITY[row.volatility],
                "strict": yes(row.strict),
                "leakproof": yes(row.leakproof),
                "parallel": _PARALLEL[row.parallel],
                "cost": number(row.cost),
            }
            if row.rows:
                facets["rows"] = number(row.rows)
        if row.config:
            facets["settings"] = row.config
        if row.support:
            facets["support"] = row.support
        if row.library:
            facets["library"] = row.library
        if row.sqlbody is not None:
            facets["body"] = clean_sql(row.sqlbody)
        elif row.body is not None:
            facets["body"] = clean_body(row.body)
        out += [Line(obj, facet, value) for facet, value in facets.items()]
    return out


def _trigger_lines(rows: Iterable[r.TriggerRow]) -> list[Line]:
    out: list[Line] = []
    for row in rows:
        if row.internal:
            # Internal (foreign key) triggers are named by OID: named here by what they do.
            # Listed only when not enabled (ALTER TABLE ... DISABLE TRIGGER ALL).
            out.append(
                Line(
                    format_key("table", row.table_name),
                    f"internal trigger {row.proname} of constraint {row.constraint_name}",
                    _TRIGGER_ENABLED[row.enabled],
                )
            )
            continue
        obj = format_key("trigger", f"{row.table_name}.{row.name}")
        out += [
            Line(obj, "definition", clean_sql(str(row.definition))),
            Line(obj, "enabled", _TRIGGER_ENABLED[row.enabled]),
        ]
    return out


def _rule_lines(rows: Iterable[r.RuleRow]) -> list[Line]:
    out: list[Line] = []
    for table, name, definition, enabled in rows:
        obj = format_key("rule", f"{table}.{name}")
        out += [
            Line(obj, "definition", clean_sql(definition)),
            Line(obj, "enabled", _TRIGGER_ENABLED[enabled]),
        ]
    return out


def _policy_lines(rows: Iterable[r.PolicyRow], role: Callable[[str], str]) -> list[Line]:
    out: list[Line] = []
    for table, name, command, permissive, roles, using, check in rows:
        obj = format_key("policy", f"{table}.{name}")
        out += [
            Line(obj, "command", _POLICY_COMMAND[command]),
            Line(obj, "type", "permissive" if permissive else "restrictive"),
            Line(obj, "roles", ", ".join(sorted(role(str(r)) for r in roles))),
        ]
        if using is not None:
            out.append(Line(obj, "using", clean_sql(using)))
        if check is not None:
            out.append(Line(obj, "with check", clean_sql(check)))
    return out


# --- grants -----------------------------------------------------------------------------------


def _grant_lines(
    reader: _Reader, role: Callable[[str], str], public_role: Callable[[str], str]
) -> tuple[list[Line], set[str], list[Line]]:
    """Object privileges and default privileges; also every role they name."""
    out: list[Line] = []
    parameters: list[Line] = []
    named: set[str] = set()
    raw: list[tuple[str, str, str, str, str, list[str], bool]] = []
    for row in reader.typed(queries.GRANTS, r.GrantRow):
        kind, name, owner, grantee, grantor, privilege, grantable = row
        if (kind == "schema" and name == "public") or kind == "database":
            owner, grantee, grantor = public_role(owner), public_role(grantee), public_role(grantor)
        elif name == queries.AUDIT_TABLE_NAME and grantee == owner:
            continue  # created on first use by whoever ran a recovery command
        raw.append((kind, name, owner, grantee, grantor, privilege, grantable))
    grouped = grants.group(raw, role)
    for (kind, name, grantee), (owner, acl) in grouped.items():
        text = grants.privileges_text(acl, owner, table=kind in RELATION_KINDS)
        line = line_of((format_grant_key(kind, name, grantee), "privileges", text))
        if kind == "parameter ACL":
            parameters.append(line)
            continue
        out.append(line)
        named.add(grantee)
        named.update([row.grantor for row in acl])
        if name != queries.AUDIT_TABLE_NAME:
            named.add(owner)
    defaults: dict[DefaultPrivilegesKey, list[grants.AclRow]] = defaultdict(list)
    for default in reader.typed(queries.DEFAULT_ACLS, r.DefaultAclRow):
        objects = grants.DEFAULT_ACL_OBJECTS.get(default.objtype, default.objtype)
        who = None if default.grantee is None else role(default.grantee)
        key = DefaultPrivilegesKey(role(default.role), default.schema, objects, who)
        named.add(key.owner)
        rows = defaults[key]
        if who is not None:
            by = role(str(default.grantor))
            rows.append(grants.AclRow(who, by, (str(default.privilege),), bool(default.grantable)))
            named |= {who, by}
    for key_d, acl_d in defaults.items():
        # An emptied default ACL (no grantee) has no privileges: ``none for anyone``.
        text = grants.privileges_text(acl_d, key_d.owner, table=key_d.objects == "tables")
        out.append(Line(format_default_privileges_key(key_d), "privileges", text))
    return out, named, parameters


def _column_grant_lines(reader: _Reader, role: Callable[[str], str]) -> tuple[list[Line], set[str]]:
    out: list[Line] = []
    named: set[str] = set()
    grouped = grants.group(reader.typed(queries.COLUMN_GRANTS, r.GrantRow), role)
    for (_kind, name, grantee), (owner, acl) in grouped.items():
        text = grants.privileges_text(acl, owner, table=False)
        out.append(line_of((format_grant_key("column", name, grantee), "privileges", text)))
        named.add(grantee)
        named.update([row.grantor for row in acl])
    return out, named


def _role_lines(
    reader: _Reader, role: Callable[[str], str], migrator: str, wanted: set[str]
) -> list[Line]:
    """Attributes, settings and memberships of the Gordon roles.

    Described: every role a Gordon object names, plus ``wanted``; never the migrator (its
    attributes differ per environment by design) nor the bootstrap superuser.
    """
    out: list[Line] = []
    server = reader.conn.info.server_version
    roles = {row.name: row for row in reader.typed(queries.ROLES, r.RoleRow)}
    skip = {MIGRATOR, DATABASE_OWNER, "PUBLIC", migrator}
    skip |= {name for name, row in roles.items() if row.bootstrap}
    scope = {name for name in wanted if name not in skip and not name.startswith("pg_")}
    for name in sorted(scope):
        obj = f"role {name}"
        row = roles.get(name)
        if row is None:
            out.append(Line(obj, "exists", "no"))
            continue
        out += [
            Line(obj, "superuser", yes(row.superuser)),
            Line(obj, "inherit", yes(row.inherit)),
            Line(obj, "createrole", yes(row.createrole)),
            Line(obj, "createdb", yes(row.createdb)),
            Line(obj, "login", yes(row.login)),
            Line(obj, "replication", yes(row.replication)),
            Line(obj, "bypassrls", yes(row.bypassrls)),
            Line(
                obj,
                "connection limit",
                "none" if row.connection_limit < 0 else str(row.connection_limit),
            ),
        ]
        if row.valid_until is not None:
            out.append(Line(obj, "valid until", row.valid_until))
        for setting in row.settings:
            key, _, value = str(setting).partition("=")
            out.append(Line(obj, f"setting {key}", value))
    memberships = reader.typed(
        queries.MEMBERSHIPS if server >= 160000 else queries.MEMBERSHIPS_PG15, r.MembershipRow
    )
    # Any role's membership in a predefined role that reaches every table (catalogs), except the
    # migrator's and the bootstrap superuser's: they can do everything already.
    unbounded = {migrator} | {name for name, row in roles.items() if row.bootstrap}
    for member, granted, admin, inherit, set_option in memberships:
        gordons = member != migrator and (member in scope or granted in scope)
        if not gordons and (granted not in REACHING_ROLES or member in unbounded):
            continue
        obj = f"membership of {member} in {role(granted)}"
        out += [
            Line(obj, "admin option", yes(admin)),
            Line(obj, "inherit", yes(inherit)),
            Line(obj, "set", yes(set_option)),
        ]
    return out


# --- NOTIFY ---------------------------------------------------------------------------------


def _notify_lines(
    functions: Sequence[r.FunctionRow],
    triggers: Sequence[r.TriggerRow],
    rules: Sequence[r.RuleRow],
) -> tuple[list[Line], list[Line]]:
    """(channel lines, undetermined sources): see ``notify``."""
    found: list[Line] = []
    undetermined: list[Line] = []
    ipc_indexes: dict[str, set[int]] = {}
    for function_row in functions:
        name = function_row.name
        text = function_row.sqlbody if function_row.sqlbody is not None else function_row.body
        if text is None or function_row.language in ("c", "internal"):
            continue
        source = format_key(_PROKIND[function_row.prokind], name)
        is_ipc = function_row.proname == notify.IPC_TRIGGER_FUNCTION
        for site in notify.sites(text, ipc_function=is_ipc):
            if site.channel is not None:
                found.append(Line(f"channel {notify.channel_label(site.channel)}", source))
            elif site.argv_index is not None:
                ipc_indexes.setdefault(name, set()).add(site.argv_index)
            else:
                undetermined.append(Line(source, site.code))
    for trigger in triggers:
        if trigger.internal or trigger.proname != notify.IPC_TRIGGER_FUNCTION:
            continue
        function = trigger.function
        source = format_key("trigger", f"{trigger.table_name}.{trigger.name}")
        arguments = notify.trigger_arguments(bytes(trigger.args), int(trigger.nargs))
        for index in sorted(ipc_indexes.get(function, {0})):
            if index < len(arguments):
                found.append(Line(f"channel {notify.channel_label(arguments[index])}", source))
            else:
                undetermined.append(
                    Line(source, f"{function} reads TG_ARGV[{index}], the trigger passes none")
                )
    for table, name, definition, _enabled in rules:
        if definition == queries.UNREAD:
            continue
        source = format_key("rule", f"{table}.{name}")
        for site in notify.sites(definition):
            if site.channel is not None:
                found.append(Line(f"channel {notify.channel_label(site.channel)}", source))
            else:
                undetermined.append(Line(source, site.code))
    return found, undetermined
