"""The grant matrix as a grid: object x role, expected (the pinned fixtures) against actual.

drift-check compares the same lines object by object and lists what differs; this arranges
them the way people read a privilege matrix, so every mismatching cell can be shown in place.
The lines are drift-check's own (``drift.fixtures.load`` and ``drift.snapshot.take``); nothing
here reads a catalog or normalises a privilege itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gordon_migrate.core.dsn import Dsn
from gordon_migrate.drift import fixtures
from gordon_migrate.drift.check import read_snapshot
from gordon_migrate.drift.kinds import parse_grant_key, parse_key, split_grantee
from gordon_migrate.drift.model import Line, Snapshot

#: Column of a grant line with no grantee ("default privileges ...: none for anyone").
NOBODY = "(nobody)"


@dataclass(frozen=True)
class Cell:
    """One role's privileges on one object (``None``: none)."""

    expected: str | None
    actual: str | None

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


EMPTY = Cell(None, None)


@dataclass(frozen=True)
class Matrix:
    """Rows are objects (``table trading.orders``, ``column bus.outbox.id``), columns roles."""

    objects: tuple[str, ...]
    roles: tuple[str, ...]
    cells: Mapping[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, obj: str, role: str) -> Cell:
        return self.cells.get((obj, role), EMPTY)

    @property
    def mismatches(self) -> tuple[tuple[str, str, Cell], ...]:
        return tuple(
            (obj, role, cell) for (obj, role), cell in sorted(self.cells.items()) if not cell.ok
        )

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def row_ok(self, obj: str) -> bool:
        return all(self.cell(obj, role).ok for role in self.roles)


@dataclass(frozen=True)
class AttributeDifference:
    """A Gordon role's attribute, setting or membership that differs (``role gordon_api``,
    ``superuser``, ``no``, ``yes``)."""

    role: str
    facet: str
    expected: str | None
    actual: str | None


@dataclass(frozen=True)
class GrantMatrices:
    """The object grant matrix, the column grant matrix and role attributes of a database."""

    database: str
    objects: Matrix
    columns: Matrix
    role_attributes: tuple[AttributeDifference, ...]

    @property
    def ok(self) -> bool:
        return self.objects.ok and self.columns.ok and not self.role_attributes

    def columns_of(self, table: str) -> Matrix:
        """The column grants of ``table`` (``trading.orders`` or ``table trading.orders``)."""
        prefix = f"column {relation_name(table)}."
        rows = tuple(o for o in self.columns.objects if o.startswith(prefix))
        return Matrix(
            objects=rows,
            roles=self.columns.roles,
            cells={k: v for k, v in self.columns.cells.items() if k[0] in rows},
        )


def relation_name(table: str) -> str:
    """``trading.orders`` of ``table trading.orders`` (or of ``trading.orders``)."""
    return parse_key(table)[1] if " " in table else table


def _split(line: Line) -> tuple[str, str]:
    """(object, role) of a grant line: ``grant on table t to r`` -> (``table t``, ``r``); a
    default privileges line keeps its words (``default privileges of ... on tables``)."""
    grant = parse_grant_key(line.object)
    if grant is not None:
        return grant.target, grant.grantee
    target, grantee = split_grantee(line.object)
    return target, NOBODY if grantee is None else grantee


def matrix(expected: Iterable[Line], actual: Iterable[Line]) -> Matrix:
    """The grid of two sets of drift-check grant lines (role attribute lines are skipped)."""
    cells: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for side, lines in enumerate((expected, actual)):
        for line in lines:
            if line.facet != "privileges" or line.object.startswith("role "):
                continue
            key = _split(line)
            before = cells.get(key, (None, None))
            cells[key] = (line.value, before[1]) if side == 0 else (before[0], line.value)
    objects = tuple(dict.fromkeys(sorted(obj for obj, _ in cells)))
    named = {role for _, role in cells}
    roles = tuple(sorted(named, key=lambda r: (not r.startswith("<"), r == NOBODY, r)))
    return Matrix(
        objects=objects,
        roles=roles,
        cells={key: Cell(*values) for key, values in cells.items()},
    )


def role_attributes(
    expected: Iterable[Line], actual: Iterable[Line]
) -> tuple[AttributeDifference, ...]:
    """Attributes, settings and memberships of the Gordon roles that differ."""

    def facets(lines: Iterable[Line]) -> dict[tuple[str, str], str]:
        return {
            (line.object.removeprefix("role "), line.facet): line.value
            for line in lines
            if line.object.startswith("role ")
        }

    want, have = facets(expected), facets(actual)
    return tuple(
        AttributeDifference(role, facet, want.get((role, facet)), have.get((role, facet)))
        for role, facet in sorted(want.keys() | have.keys())
        if want.get((role, facet)) != have.get((role, facet))
    )


def compare(expected: fixtures.Fixtures, actual: Snapshot) -> GrantMatrices:
    """The matrices of a snapshot against the fixtures (no I/O)."""
    return GrantMatrices(
        database=actual.database,
        objects=matrix(expected.sections["grants"], actual.sections["grants"]),
        columns=matrix(expected.sections["column_grants"], actual.sections["column_grants"]),
        role_attributes=role_attributes(expected.sections["grants"], actual.sections["grants"]),
    )


def grant_matrices(
    dsn: Dsn, fixtures_dir: Path | None = None, *, purpose: str = "grant matrix"
) -> GrantMatrices:
    """Read the live grants (one READ ONLY snapshot, as drift-check takes it) and lay them
    out against the fixtures (default: the bundled ones)."""
    expected = fixtures.load(fixtures_dir)
    return compare(expected, read_snapshot(dsn, expected.roles, purpose=purpose))
