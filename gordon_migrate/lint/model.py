"""What the linter reports: findings, and the lock plan of a statement (plain dataclasses,
shared by the CLI, ``apply`` and the TUI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from gordon_migrate.rehearse.functions import Signature
from gordon_migrate.rehearse.model import AccessChange
from gordon_migrate.rehearse.pinned import PinnedStatement

if TYPE_CHECKING:
    # A type only: the sessions' queries (psycopg) are not loaded by a lint without a server.
    from gordon_migrate.core.sessions import Holder

Severity = Literal["error", "warning"]

#: The least a heap row takes: its header (23 bytes, aligned to 24) and its 4-byte line
#: pointer. A table's bytes divided by this bound its row count from above.
MIN_ROW_BYTES = 28


@dataclass(frozen=True)
class Rehearsed:
    """What a rehearsal measured of one migration, as the rules that read facts take it (a
    static run has none): its error-level access changes (``access-contract``) and each
    statement's locks and created relations (``hidden-ddl``)."""

    access: tuple[AccessChange, ...] = ()
    statements: tuple[PinnedStatement, ...] = ()


@dataclass
class Finding:
    """One hazard at ``file:line:col``; ``why`` says what it costs, ``fix`` the safe rewrite."""

    file: str
    line: int
    col: int
    rule: str
    severity: Severity
    message: str
    why: str
    fix: str
    relation: str | None = None
    #: Recorded in the committed baseline (the migration is already applied in production).
    grandfathered: bool = False
    #: ``-- gordon:allow RULE-ID reason`` above or on the statement.
    waived: bool = False
    waiver_reason: str | None = None
    #: Stable across edits that move the statement: file name, rule, normalized statement.
    fingerprint: str = ""

    @property
    def counts(self) -> bool:
        """True when this finding fails the lint (an error neither grandfathered nor waived)."""
        return self.severity == "error" and not self.grandfathered and not self.waived

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
            "relation": self.relation,
            "grandfathered": self.grandfathered,
            "waived": self.waived,
            "waiver_reason": self.waiver_reason,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class TableSize:
    """Live size of a relation (``--database-url``): ``rows`` is ``reltuples`` (-1: never
    analysed), ``bytes`` is ``pg_relation_size``, or, when another session held the relation
    in ACCESS EXCLUSIVE mode (reading its size would have waited for that lock), the catalog's
    ``relpages`` estimate (``estimated``). ``indexes`` and ``TOAST`` are the bytes of its
    indexes and its TOAST table (by the catalog when one of them is held so)."""

    rows: float
    bytes: int
    estimated: bool = False
    indexes: int = 0
    toast: int = 0

    @property
    def rows_at_most(self) -> int:
        """``reltuples`` when the table was analysed; else the most rows its pages can hold:
        a never-analysed table (``reltuples`` -1) is judged by its size, never as small."""
        return int(self.rows) if self.rows >= 0 else self.bytes // MIN_ROW_BYTES

    @property
    def known(self) -> bool:
        """False when nothing real is known: estimated from a never-analysed catalog row."""
        return not (self.estimated and self.rows < 0)


@dataclass(frozen=True)
class LiveInfo:
    """What a live database says (``--database-url``): sizes and index owners (here, not in
    ``analyze``: apply's lock-hold gate reads sizes without loading the parser)."""

    sizes: dict[str, TableSize] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)  # index -> its table
    allowlist: frozenset[str] | None = None
    #: Every plain function of the target (``pg_proc``); None when not read (lint then uses
    #: the pinned ``pg_catalog`` and what the bundle declares).
    functions: frozenset[Signature] | None = None


@dataclass(frozen=True)
class LockStep:
    """One lock a statement takes: mode on relation, the work it does, what it blocks."""

    relation: str
    mode: str
    form: str
    work: str
    blocks: str
    new_relation: bool = False
    dead_index: bool = False
    """On an old index marked dead by then (``locks.LockForm.dead_index``): blocks neither."""


@dataclass
class StatementPlan:
    line: int
    sql: str
    steps: list[LockStep] = field(default_factory=list)


@dataclass
class MigrationPlan:
    file: str
    no_transaction: bool
    statements: list[StatementPlan] = field(default_factory=list)


@dataclass
class LockPlan:
    migrations: list[MigrationPlan] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list)
    #: False when no database was consulted (holders unknown).
    live: bool = False
    #: Error-level findings neither grandfathered nor waived: apply would refuse to start.
    refusals: list[Finding] = field(default_factory=list)


@dataclass
class LintReport:
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    live: bool = False

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.counts]

    @property
    def ok(self) -> bool:
        return not self.failing
