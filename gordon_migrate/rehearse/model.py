"""What a rehearsal measured, as plain data with a JSON round trip (the facts will be pinned
as a fixture, so ``from_json(to_json(x)) == x`` must hold exactly)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: PostgreSQL's table lock modes, weakest first (pg_locks spells them ``AccessShareLock``).
MODES = (
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
)


def mode_name(pg_mode: str) -> str:
    """``ShareUpdateExclusiveLock`` as ``SHARE UPDATE EXCLUSIVE`` (unknown modes as they are)."""
    words: list[str] = []
    for char in pg_mode.removesuffix("Lock"):
        if char.isupper() and words:
            words.append(" ")
        words.append(char.upper())
    name = "".join(words)
    return name if name in MODES else pg_mode


def strength(mode: str) -> int:
    """The rank of ``mode`` in ``MODES`` (-1 for a mode this list does not know)."""
    return MODES.index(mode) if mode in MODES else -1


Blocks = Literal["reads and writes", "writes", "neither"]


def blocks(mode: str) -> Blocks:
    """What a lock of ``mode`` on a relation stops (PostgreSQL's table of conflicting modes): a
    SELECT takes ACCESS SHARE, which only ACCESS EXCLUSIVE conflicts with; an INSERT, UPDATE
    or DELETE takes ROW EXCLUSIVE, which SHARE and every stronger mode conflict with."""
    if mode == "ACCESS EXCLUSIVE":
        return "reads and writes"
    return "writes" if strength(mode) >= strength("SHARE") else "neither"


@dataclass(frozen=True)
class Lock:
    """The strongest lock a statement took on one object."""

    object: str
    """``public.orders`` for a relation; the server's description (``pg_describe_object``)
    for any other object (``policy p on table public.orders``, ``schema public``)."""
    kind: str
    """``table``, ``index``, ``view``, ``sequence``, ... for a relation; ``object`` else."""
    mode: str
    """As in ``MODES``."""
    via: str | None = None
    """For a table: the index whose lock makes the table's this strong (readers of a table
    need its indexes too, so an index's lock blocks them like one on the table)."""
    new: bool = False
    """A relation the statement itself created (no other session could see it yet; a
    ``REINDEX CONCURRENTLY`` builds a new index that takes the old one's name)."""
    dead: bool = False
    """An index the server had marked dead (``pg_index.indislive`` false) when it was locked
    in this mode: the last step of a concurrent drop or rebuild. No reader or writer of its
    table opens it any more, so the lock blocks neither and does not count for the table."""

    @property
    def blocks(self) -> Blocks:
        """What the lock stops (``blocks``; nothing on a dead index)."""
        return "neither" if self.dead else blocks(self.mode)


@dataclass(frozen=True)
class StatementFacts:
    """One statement, measured on the scratch."""

    line: int
    """Line of the statement's start in its file."""
    text: str
    ms: float
    locks: tuple[Lock, ...] = ()
    rewritten: tuple[str, ...] = ()
    """Relations whose relfilenode changed: their data was written anew."""
    scanned: tuple[str, ...] = ()
    """Tables read whole (sequential scans): validation, NOT NULL checks, index builds."""
    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    sampled: bool = False
    """Run outside a transaction block (CONCURRENTLY, VACUUM): its locks were sampled from a
    second connection while it ran, so a lock held only between two samples can be missed."""


#: The judgements of an access change: ``error`` breaks the access contract (lint refuses it
#: unless waived), ``info`` is shown for review.
SEVERITIES = ("error", "info")


@dataclass(frozen=True)
class AccessChange:
    """One change of who can see or do what, as a migration made it on the scratch
    (``access.delta`` computes them)."""

    kind: str
    """``privilege``, ``column privilege``, ``owner``, ``row level security``, ``policy``,
    ``default privileges``, ``membership`` or ``trigger``."""
    object: str
    """What changed: ``trading.fills`` (a relation), ``function trading.f()``, ``schema
    trading``, ``role gordon_api``, ``trigger guard on trading.fills``."""
    text: str
    """The change in words: ``revokes DELETE on trading.bot_leases from gordon_bots``."""
    severity: str
    """As in ``SEVERITIES``."""
    why: str = ""
    """For an error: which rule of the access contract it breaks."""
    roles: tuple[str, ...] = ()
    """The roles whose access changed (``PUBLIC`` for every role)."""

    @property
    def error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object": self.object,
            "text": self.text,
            "severity": self.severity,
            "why": self.why,
            "roles": list(self.roles),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessChange:
        return cls(
            kind=str(data["kind"]),
            object=str(data["object"]),
            text=str(data["text"]),
            severity=str(data["severity"]),
            why=str(data["why"]),
            roles=tuple(str(r) for r in data["roles"]),
        )


@dataclass(frozen=True)
class MigrationFacts:
    version: int
    filename: str
    no_transaction: bool
    ms: float
    statements: tuple[StatementFacts, ...]
    access: tuple[AccessChange, ...] = ()
    """What the whole migration changed of who can see or do what (``access.delta``)."""


@dataclass(frozen=True)
class Rehearsal:
    server_version: str
    """``18.1``-style: the scratch server's."""
    ms: float
    """The whole rehearsal, the scratch's set-up included."""
    replayed: tuple[int, ...]
    """Versions run first, unmeasured: those applied on the target."""
    migrations: tuple[MigrationFacts, ...]
    """The pending migrations, measured."""

    def to_json(self) -> dict[str, Any]:
        return {
            "server_version": self.server_version,
            "ms": self.ms,
            "replayed": list(self.replayed),
            "migrations": [_migration_json(m) for m in self.migrations],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rehearsal:
        return cls(
            server_version=str(data["server_version"]),
            ms=float(data["ms"]),
            replayed=tuple(int(v) for v in data["replayed"]),
            migrations=tuple(_migration_from(m) for m in data["migrations"]),
        )


def _migration_json(m: MigrationFacts) -> dict[str, Any]:
    return {
        "version": m.version,
        "filename": m.filename,
        "no_transaction": m.no_transaction,
        "ms": m.ms,
        "statements": [_statement_json(s) for s in m.statements],
        "access": [change.to_json() for change in m.access],
    }


def _statement_json(s: StatementFacts) -> dict[str, Any]:
    return {
        "line": s.line,
        "text": s.text,
        "ms": s.ms,
        "locks": [
            {
                "object": lock.object,
                "kind": lock.kind,
                "mode": lock.mode,
                "via": lock.via,
                "new": lock.new,
                "dead": lock.dead,
            }
            for lock in s.locks
        ],
        "rewritten": list(s.rewritten),
        "scanned": list(s.scanned),
        "created": list(s.created),
        "dropped": list(s.dropped),
        "sampled": s.sampled,
    }


def _migration_from(data: dict[str, Any]) -> MigrationFacts:
    return MigrationFacts(
        version=int(data["version"]),
        filename=str(data["filename"]),
        no_transaction=bool(data["no_transaction"]),
        ms=float(data["ms"]),
        statements=tuple(_statement_from(s) for s in data["statements"]),
        access=tuple(AccessChange.from_json(c) for c in data.get("access", [])),
    )


def _statement_from(data: dict[str, Any]) -> StatementFacts:
    return StatementFacts(
        line=int(data["line"]),
        text=str(data["text"]),
        ms=float(data["ms"]),
        locks=tuple(
            Lock(
                object=str(lock["object"]),
                kind=str(lock["kind"]),
                mode=str(lock["mode"]),
                via=None if lock["via"] is None else str(lock["via"]),
                new=bool(lock["new"]),
                dead=bool(lock.get("dead", False)),
            )
            for lock in data["locks"]
        ),
        rewritten=tuple(str(x) for x in data["rewritten"]),
        scanned=tuple(str(x) for x in data["scanned"]),
        created=tuple(str(x) for x in data["created"]),
        dropped=tuple(str(x) for x in data["dropped"]),
        sampled=bool(data["sampled"]),
    )
