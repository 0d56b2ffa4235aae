"""Typed rows of the catalog queries (``queries``): one NamedTuple per query, its fields named
as the query's columns, read by name (``named_row``).

NamedTuples, not dataclasses: a snapshot reads ~65,000 rows at 5,000 tables, and a NamedTuple
is built in C from the row's values, where ``class_row`` calls a dataclass constructor with
keywords per row (several times as long).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple, TypeVar

from psycopg.rows import BaseRowFactory, RowMaker

from gordon_migrate.core.errors import DriftError

T = TypeVar("T", bound=tuple[Any, ...])


def named_row(cls: type[T]) -> BaseRowFactory[T]:
    """Rows as ``cls`` (a NamedTuple), each field taken from the column of that name.

    The columns are matched once per query, not per row: in the query's order (every query
    here) a row is made straight from the values; in another order, through a permutation.
    A field without a column of its name fails the query at once."""
    # A NamedTuple class (typing has no bound for "any NamedTuple").
    fields: tuple[str, ...] | None = getattr(cls, "_fields", None)
    if fields is None:
        raise TypeError(f"{cls.__name__} is not a NamedTuple")
    # What ``cls._make`` does, without its Python frame and length check (the names matched):
    # a third cheaper per row.
    make: RowMaker[T] = partial(tuple.__new__, cls)

    def factory(cursor: Any) -> RowMaker[T]:
        names = [column.name for column in cursor.description or ()]
        if tuple(names) == fields:
            return make
        missing = [field for field in fields if field not in names]
        if missing:
            raise DriftError(
                f"catalog query for {cls.__name__} has no column named {', '.join(missing)} "
                f"(it returns {', '.join(names)})"
            )
        where = [names.index(field) for field in fields]

        def reordered(values: Sequence[Any]) -> T:
            return make([values[i] for i in where])

        return reordered

    return factory


class LockRow(NamedTuple):
    """``queries.LOCKS``: a relation locked by another session (``name`` set), or a view or
    rule reading one (``through``)."""

    relation: int
    name: str | None
    pid: int | None
    granted: bool | None
    user: str | None
    application: str | None
    through: int | None


class HolderRow(NamedTuple):
    """``queries.HOLDERS``."""

    relation: str
    pid: int
    granted: bool
    user: str | None


class ContextRow(NamedTuple):
    """``queries.CONTEXT``."""

    database: str
    user: str
    migrator: str
    superuser: bool | None
    has_history: bool
    database_owner: str
    bootstrap: str


class WriteAccessRow(NamedTuple):
    """``queries.WRITE_PRIVILEGES``."""

    access: str


class SchemaRow(NamedTuple):
    """``queries.SCHEMAS``."""

    name: str
    owner: str


class ExtensionRow(NamedTuple):
    """``queries.EXTENSIONS``."""

    name: str
    version: str
    schema: str
    owner: str | None


class ExtensionMemberRow(NamedTuple):
    """``queries.EXTENSION_MEMBERS``."""

    extension: str
    type: str
    identity: str


class NotNullRow(NamedTuple):
    """``queries.NOT_NULLS``."""

    name: str
    validated: bool
    no_inherit: bool


class BuiltinAclRow(NamedTuple):
    """``queries.BUILTIN_ACLS``: one grant of a built-in object, as it is (``side`` 'now') or
    as initdb or its extension gave it ('initdb')."""

    kind: str
    name: str
    owner: str
    side: str
    grantee: str
    grantor: str
    privileges: list[str]
    grantable: bool


class BuiltinLanguageRow(NamedTuple):
    """``queries.BUILTIN_LANGUAGES``."""

    name: str
    definition: str


class SystemObjectRow(NamedTuple):
    """``queries.SYSTEM_OBJECTS``."""

    type: str
    identity: str


class BuiltinFunctionRow(NamedTuple):
    """``queries.BUILTIN_FUNCTIONS``."""

    name: str
    digest: str


class BuiltinDigestRow(NamedTuple):
    """``queries.BUILTIN_DIGEST``."""

    digest: str


class CatalogColumnsRow(NamedTuple):
    """``queries.CATALOG_COLUMNS``."""

    relation: str
    columns: list[str]


class RelationRow(NamedTuple):
    """``queries.RELATIONS``."""

    relkind: str
    name: str
    owner: str
    persistence: str
    rls: bool
    force_rls: bool
    options: str
    replident: str
    partkey: str | None
    inherits: str | None
    bound: str | None
    viewdef: str | None
    access_method: str | None
    of_type: str | None
    seqtype: str | None
    seq_start: int | None
    seq_increment: int | None
    seq_min: int | None
    seq_max: int | None
    seq_cache: int | None
    seq_cycle: bool | None
    owned_by: str | None


class ColumnRow(NamedTuple):
    """``queries.COLUMNS`` (``relkind`` 'c': an attribute of a composite type)."""

    relkind: str
    name: str
    position: int
    type: str
    notnull: bool
    identity: str
    generated: str
    default: str | None
    collation: str | None


class ConstraintRow(NamedTuple):
    """``queries.CONSTRAINTS`` (``owner``: the table, or the domain)."""

    owner: str
    on_domain: bool
    name: str
    definition: str


class IndexRow(NamedTuple):
    """``queries.INDEXES``."""

    name: str
    definition: str
    valid: bool
    replident: bool


class TypeRow(NamedTuple):
    """``queries.TYPES``."""

    name: str
    typtype: str
    owner: str
    labels: list[str] | None
    base: str | None
    notnull: bool
    default: str | None
    subtype: str | None
    collation: str | None


class StatisticsRow(NamedTuple):
    """``queries.STATISTICS``."""

    name: str
    definition: str
    owner: str


class GenericRow(NamedTuple):
    """``queries.GENERIC``: an object of a generic catalog, facets as [name, value, ...]."""

    type: str
    identity: str
    owner: str | None
    facets: list[str | None]


class FunctionRow(NamedTuple):
    """``queries.FUNCTIONS``."""

    name: str
    proname: str
    prokind: str
    arguments: str
    result: str | None
    language: str
    volatility: str
    strict: bool
    secdef: bool
    leakproof: bool
    parallel: str
    cost: float
    rows: float
    config: str
    body: str | None
    sqlbody: str | None
    owner: str
    support: str | None
    library: str | None


class TriggerRow(NamedTuple):
    """``queries.TRIGGERS`` (internal triggers only when not enabled)."""

    table_name: str
    name: str
    definition: str | None
    enabled: str
    proname: str
    function: str
    nargs: int
    args: bytes
    internal: bool
    constraint_name: str | None


class RuleRow(NamedTuple):
    """``queries.RULES``."""

    table_name: str
    name: str
    definition: str
    enabled: str


class PolicyRow(NamedTuple):
    """``queries.POLICIES``."""

    table_name: str
    name: str
    command: str
    permissive: bool
    roles: list[str]
    using: str | None
    with_check: str | None


class DatabaseRow(NamedTuple):
    """``queries.DATABASE``: this database's options and settings."""

    connection_limit: int
    allow_connections: bool
    is_template: bool
    settings: list[str]
    everywhere: list[str]


class RoleSettingRow(NamedTuple):
    """``queries.ROLE_SETTINGS_HERE``."""

    role: str
    setting: str


class GrantRow(NamedTuple):
    """``queries.GRANTS`` and ``queries.COLUMN_GRANTS``: one grantor's grant to one grantee."""

    kind: str
    name: str
    owner: str
    grantee: str
    grantor: str
    privileges: list[str]
    grantable: bool


class DefaultAclRow(NamedTuple):
    """``queries.DEFAULT_ACLS`` (``grantee`` None: an empty default ACL)."""

    role: str
    schema: str | None
    objtype: str
    grantee: str | None
    grantor: str | None
    privilege: str | None
    grantable: bool | None


class RoleRow(NamedTuple):
    """``queries.ROLES``."""

    name: str
    bootstrap: bool
    superuser: bool
    inherit: bool
    createrole: bool
    createdb: bool
    login: bool
    replication: bool
    bypassrls: bool
    connection_limit: int
    valid_until: str | None
    settings: list[str]


class MembershipRow(NamedTuple):
    """``queries.MEMBERSHIPS`` (and its PostgreSQL 15 form)."""

    member: str
    granted: str
    admin: bool
    inherit: bool
    set_option: bool
