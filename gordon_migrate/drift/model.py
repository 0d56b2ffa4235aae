"""What drift-check works with: snapshot lines, differences, check results, the report."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from operator import eq
from typing import Literal, NamedTuple

CheckName = Literal["schema", "grants", "column_grants", "notify", "builtins"]
DifferenceKind = Literal["missing", "unexpected", "changed"]

#: Every check, in report order, with the title people read.
CHECKS: tuple[tuple[CheckName, str], ...] = (
    ("schema", "schema checksum"),
    ("grants", "grant matrix"),
    ("column_grants", "column grant matrix"),
    ("notify", "NOTIFY allowlist"),
    ("builtins", "PostgreSQL's own objects"),
)
#: The checks pinned in a fixture file of their own (the built-ins are pinned per major).
PINNED_CHECKS: tuple[CheckName, ...] = ("schema", "grants", "column_grants", "notify")
TITLES: dict[CheckName, str] = dict(CHECKS)

#: Placeholder for the role that ran the migrations (``postgres`` in tests, a bootstrap role
#: in production): the owner of ``public._sqlx_migrations``.
MIGRATOR = "<migrator>"
#: Placeholder for the owner of schema ``public``, which the database's template created, not
#: the migrations: ``pg_database_owner`` since PostgreSQL 15, the bootstrap superuser or the
#: database owner in a database created before and upgraded.
DATABASE_OWNER = "<database owner>"
#: The role ``initdb`` made (OID 10): it owns PostgreSQL's own objects, named per cluster.
BOOTSTRAP = "<bootstrap superuser>"
#: The database drift-check connected to (named differently in every environment).
THIS_DATABASE = "<this database>"


class Line(NamedTuple):
    """One fixture entry: a facet of an object, e.g. (``table trading.orders``, ``owner``,
    ``<migrator>``). An object's definition is the set of its facets. A plain tuple: a
    snapshot has tens of thousands, hashed, sorted and compared in C."""

    object: str
    facet: str
    value: str = ""

    def definition_line(self) -> str:
        """How the facet reads inside a definition (multi-line values indented)."""
        _, facet, value = self
        if not value:
            return facet
        if "\n" in value:
            body = "\n".join(f"    {row}" if row else "" for row in value.split("\n"))
            return f"{facet}:\n{body}"
        return f"{facet}: {value}"


#: ``Line`` from a 3-tuple (object, facet, value), built in C: half the cost of calling the
#: class, which runs a Python ``__new__`` (a snapshot at 5,000 tables makes 100,000 lines).
line_of: Callable[[tuple[str, str, str]], Line] = partial(tuple.__new__, Line)


def sorted_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    """Distinct lines in fixture order (object, facet, value)."""
    # Sorted first (runs already in order stay cheap to sort, which a set's arbitrary order
    # would undo), then made distinct only if two neighbours are equal: comparing them is
    # done in C, and costs a fifth of hashing every line (a snapshot has none twice).
    ordered = sorted(lines)
    if any(map(eq, ordered, islice(ordered, 1, None))):
        return tuple(dict.fromkeys(ordered))
    return tuple(ordered)


@dataclass(frozen=True)
class Snapshot:
    """The canonical state of a database, one sorted tuple of lines per check."""

    sections: dict[CheckName, tuple[Line, ...]]
    database: str
    user: str
    server_version: str
    migrator: str
    #: NOTIFY sources whose channel cannot be determined statically (always a failure).
    undetermined_channels: tuple[Line, ...] = ()
    #: Whether ``public._sqlx_migrations`` exists (no: never migrated, or the wrong database).
    has_history: bool = True
    #: What the connected role could change in the Gordon schemas (drift-check only reads).
    write_access: tuple[str, ...] = ()
    #: How many catalog queries it took (constant, whatever the number of objects).
    queries: int = 0
    #: Relations whose definitions could not be read (another session holds ACCESS EXCLUSIVE
    #: on them): one sentence each, naming the relation and the holder.
    unread: tuple[str, ...] = ()
    #: The built-in objects' privileges as initdb (or their extension) gave them, for the
    #: objects that differ now (``sections["builtins"]`` holds them as they are).
    builtins_initdb: tuple[Line, ...] = ()
    #: The bootstrap superuser's name on this cluster.
    bootstrap: str = "postgres"
    #: ``catalog.column`` of the server that the column map does not name (a newer major).
    unmapped: tuple[str, ...] = ()
    #: Objects whose privileges name a role the reader cannot resolve (``unknown (OID=n)``).
    unknown_roles: tuple[str, ...] = ()


class Difference(NamedTuple):
    """One object that differs. ``expected``/``actual`` are definitions (``None`` when the
    object is absent on that side); ``diff`` is a unified diff when a definition spans
    several lines; ``detail`` explains what cannot be shown as a definition.

    A NamedTuple (immutable, built in C; change one with ``_replace``): a big report has tens
    of thousands, and a frozen dataclass took five times as long to build."""

    object: str
    kind: DifferenceKind
    expected: str | None
    actual: str | None
    diff: str | None = None
    detail: str | None = None
    #: SQL restoring the pinned state (``None``: not restorable without losing data, or it
    #: needs the migration's own definition — ``fix_note`` says what to do).
    fix: str | None = None
    fix_note: str | None = None
    #: The parts that went missing or unexpected with a relation (type, domain) that is itself
    #: missing or unexpected: its columns, constraints, indexes, triggers, rules, policies
    #: (attributes, domain constraints), by object name. They are not differences of their own.
    members: tuple[str, ...] = ()


#: ``Difference`` from a tuple of all its fields, built in C (``line_of``).
difference_of: Callable[
    [
        tuple[
            str,
            DifferenceKind,
            str | None,
            str | None,
            str | None,
            str | None,
            str | None,
            str | None,
            tuple[str, ...],
        ]
    ],
    Difference,
] = partial(tuple.__new__, Difference)


@dataclass(frozen=True)
class CheckResult:
    name: CheckName
    differences: tuple[Difference, ...]

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def title(self) -> str:
        return TITLES[self.name]


@dataclass(frozen=True)
class DriftReport:
    """The outcome of one drift-check run."""

    database: str
    user: str
    server_version: str
    checks: tuple[CheckResult, ...]
    expected_checksum: str
    actual_checksum: str
    duration_s: float
    fixtures_dir: str
    warnings: tuple[str, ...] = field(default=())
    #: What could not be checked at all, one sentence each: never a pass.
    unchecked: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.unchecked and all(check.ok for check in self.checks)

    def check(self, name: CheckName) -> CheckResult:
        return next(c for c in self.checks if c.name == name)
