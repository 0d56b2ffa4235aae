"""What a rule is: its doc, its cases and its check, and what the walk hands the check."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from gordon_migrate.lint.model import Severity, StatementPlan

if TYPE_CHECKING:
    from pglast import ast

    from gordon_migrate.rehearse.model import Lock
    from gordon_migrate.rehearse.pinned import PinnedStatement

#: Where the walk asks the rules (``analyze.FileLinter.check``), in walk order:
#:
#: - ``file``: the file's bytes, before parsing;
#: - ``statement``: every top-level statement, after the walk planned its locks and replayed it
#:   into the catalog (``facts.plans[-1]`` is its lock plan);
#: - ``vacuum_relation``, ``drop_object``, ``rename``, ``alter_cmd``, ``add_column``,
#:   ``column_constraint``, ``add_constraint``: one object of a statement, at the point of the
#:   walk where the catalog is as the server would see it then (before a DROP forgets it, after
#:   an earlier subcommand of the same ALTER TABLE);
#: - ``file_statement``: every statement again once the whole file is walked;
#: - ``new_relation``: every relation the file created, once the whole file is walked;
#: - ``access_change``: every error-level access change a rehearsal measured for the file
#:   (``node`` is the ``rehearse.model.AccessChange``), on the statement that names its object;
#:   only a lint run given rehearsal facts (``lint --database-url``, ``apply``) has any.
SiteKind = Literal[
    "file",
    "statement",
    "vacuum_relation",
    "drop_object",
    "rename",
    "alter_cmd",
    "add_column",
    "column_constraint",
    "add_constraint",
    "file_statement",
    "new_relation",
    "access_change",
]


@dataclass(frozen=True)
class Site:
    """One point of the walk: the node there and the facts the walk established for it."""

    kind: SiteKind
    node: object
    relation: str | None = None
    #: False when ``relation`` was created earlier in this migration (new and empty).
    existing: bool = False
    #: The object named at this point: an index, ``table.column``, a constraint.
    name: str = ""
    #: The lock forms (``locks.BY_KEY`` keys) the walk planned here, e.g. ``add_column_volatile``.
    forms: tuple[str, ...] = ()
    #: ``file_statement``: how many statements the file has.
    count: int = 0
    #: ``statement`` and ``file_statement``: the statement's SQL text.
    text: str = ""
    #: ``add_column``: the functions of its default whose volatility nothing told (counted
    #: volatile).
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """What a check found; ``scaled``: the live size of ``relation`` may make it a warning."""

    message: str
    relation: str | None = None
    scaled: bool = False
    #: The rule's own severity when None; a rule over measured facts may judge a hit harder
    #: (or softer) than its static one.
    severity: Severity | None = None
    #: What a rehearsal must have seen for the hit to stand, when not the rule's
    #: (``Rule.measures``): a rule may name hazards of two kinds.
    measures: Literal["rewrite", "scan", "lock"] | None = None


class Catalog(Protocol):
    """What a rule reads of the catalog the walk replays (``analyze.Catalog``)."""

    @property
    def relations(self) -> Mapping[str, str]: ...
    @property
    def schemas(self) -> Collection[str]: ...
    @property
    def not_null_checks(self) -> Mapping[tuple[str, str], bool]: ...
    @property
    def owned_sequences(self) -> Mapping[str, tuple[str, str]]: ...
    @property
    def primary_keys(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def opaque_functions(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def public_executes_new_functions(self) -> bool: ...
    def referencing(self, tables: Sequence[str]) -> list[str]: ...


class Facts(Protocol):
    """What a rule's check reads of the walk, and nothing else: ``analyze.FileLinter``
    satisfies it (so a rule module needs no import of the walk to be typed)."""

    @property
    def catalog(self) -> Catalog: ...
    @property
    def no_transaction(self) -> bool: ...
    @property
    def allowlist(self) -> frozenset[str]: ...
    @property
    def plans(self) -> Sequence[StatementPlan]: ...
    @property
    def created(self) -> Collection[str]: ...
    @property
    def created_routines(self) -> Collection[str]: ...
    @property
    def decided(self) -> Collection[str]: ...
    @property
    def decided_schemas(self) -> Collection[str]: ...
    @property
    def added_not_valid(self) -> Collection[tuple[str, str]]: ...
    @property
    def routine_privileges(self) -> Sequence[tuple[str, bool, str]]: ...
    def new(self, relation: str) -> bool: ...
    def relation(self, rv: ast.RangeVar | None) -> str: ...
    def measured_here(self) -> tuple[PinnedStatement, tuple[str, ...]] | None: ...
    def reported_here(self, relation: str) -> bool: ...
    def reindex_concurrently(self, node: ast.ReindexStmt) -> bool: ...
    def reindex_relation(self, node: ast.ReindexStmt) -> str: ...


Check = Callable[[Site, Facts], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    """One lint rule, whole: ``fails`` are migrations that must raise it, ``passes`` ones
    that must not (linted alone, statically; a relation they do not create counts as an
    existing table). ``check`` is None for a rule the walk itself reports (a parse error, a
    waiver's own problems, a crashed rule)."""

    id: str
    #: Where it sorts in ``--rules``, the README table and the SARIF rule list.
    order: int
    severity: Severity
    summary: str
    why: str
    fix: str
    fails: tuple[str, ...]
    passes: tuple[str, ...]
    sites: frozenset[SiteKind] = frozenset()
    check: Check | None = None
    #: Its check reads facts only a rehearsal measures (``access_change``): no static SQL can
    #: fail it, so its failing cases are server tests (named in its ``why``).
    rehearsed: bool = False
    #: The hazard it names is a fact a rehearsal measures: on a statement that was rehearsed,
    #: a hit stands only when the server showed it (``rewrite``: the relation rewritten;
    #: ``scan``: scanned or rewritten; ``lock``: held in a mode that blocks the services'
    #: writes), and says so; where nothing was rehearsed, the static hit stands as it is.
    measures: Literal["rewrite", "scan", "lock"] | None = None


def existing_locks(statement: PinnedStatement, earlier: Collection[str]) -> list[Lock]:
    """The relation locks a rehearsed ``statement`` took on what existed before its migration
    (``earlier``: what the migration's earlier statements created, as ``Facts.measured_here``
    labels it): what the statement or its migration created nobody else could see yet, and a
    dead index no reader or writer opens any more, are left out."""
    return [
        lock
        for lock in statement.locks
        if lock.kind != "object"
        and not lock.new
        and not lock.dead
        and f"{lock.kind} {lock.object}" not in earlier
    ]
