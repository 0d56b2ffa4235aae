"""What a rule is: its doc, its cases and its check, and what the walk hands the check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gordon_migrate.lint.model import Severity

if TYPE_CHECKING:
    from gordon_migrate.lint.analyze import FileLinter

#: Where the walk asks the rules (``FileLinter.check``), in walk order:
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


Check = Callable[[Site, "FileLinter"], Iterable[Hit]]


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
