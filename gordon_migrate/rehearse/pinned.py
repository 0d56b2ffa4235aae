"""The bundle's measured lock plan, pinned: ``fixtures/lockplan.json`` (``gordon_migrate/_bundle/
fixtures/`` in the wheel), written by ``gordon-migrate fixtures update`` (``pinning``), read here.

Reading it costs a JSON parse: no pglast, no server. A migration has a pinned plan when the
file holds its version with the same checksum (the SHA-384 of its bytes, as the history keeps
it); any other migration (a ``--migrations-dir`` bundle, a file edited since) has none.

Each migration was measured on one PostgreSQL major (``server_major``, the embedded default
when it could be); ``by_major`` holds every other major it was measured on, with only the
statements (by line) and the facts that differ there: an empty list means the same facts.
Durations are not pinned (they change run to run), nor the statements' text (the file's
checksum and the line identify each statement). Where each statement is in the file (``at``:
character offsets, as the parser split it) is pinned, so ``apply`` sends the bundle's
statements without loading the parser (``statements_of``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gordon_migrate.core.bundle import Migration, bundled_path
from gordon_migrate.core.errors import ConfigError
from gordon_migrate.rehearse.model import Lock
from gordon_migrate.sql.split import Statement, split

FILE = "lockplan.json"
KIND = "gordon-migrate measured lock plan"

#: The facts of a statement that may differ between majors, in the file's order.
FACTS = ("locks", "rewritten", "scanned", "created", "dropped", "sampled")


@dataclass(frozen=True)
class PinnedStatement:
    """One statement's measured facts (``model.StatementFacts`` without text and duration)."""

    line: int
    locks: tuple[Lock, ...] = ()
    rewritten: tuple[str, ...] = ()
    scanned: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    sampled: bool = False
    at: tuple[int, int] | None = None
    """Where the statement is in the file: character offsets ``[start, end)`` as the parser
    split it; None in a plan pinned before they were."""
    without_lock_timeout: bool = False
    """A statement of a no-transaction migration that apply runs without ``lock_timeout``
    (``sql.statement.inspect``: a CONCURRENTLY form or a plain VACUUM), pinned with its
    place so the deploy need not parse it."""


@dataclass(frozen=True)
class PinnedMigration:
    version: int
    file: str
    checksum: str
    """Hex of the file's SHA-384."""
    no_transaction: bool
    server_major: int
    statements: tuple[PinnedStatement, ...]
    by_major: dict[int, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    """Major -> the statements that differ there: ``{"line": L, FACT: value, ...}``."""

    @property
    def majors(self) -> tuple[int, ...]:
        """Every major this migration was measured on."""
        return tuple(sorted({self.server_major, *self.by_major}))

    def on(self, major: int) -> tuple[PinnedStatement, ...] | None:
        """The statements as measured on ``major``; None when it was not measured there."""
        if major == self.server_major:
            return self.statements
        differences = self.by_major.get(major)
        if differences is None:
            return None
        by_line = {int(d["line"]): d for d in differences}
        return tuple(_with(s, by_line[s.line]) if s.line in by_line else s for s in self.statements)

    def plan_for(self, major: int | None) -> tuple[int, tuple[PinnedStatement, ...]]:
        """The plan to show for a server of ``major``: measured there when it was, else on
        ``server_major``; with the major it was measured on."""
        if major is not None:
            found = self.on(major)
            if found is not None:
                return major, found
        return self.server_major, self.statements

    def split(self, sql: str) -> list[Statement] | None:
        """The statements of ``sql`` (this migration's text) where the parser found them when
        the plan was pinned; None when a statement's place was not pinned."""
        out = []
        for statement in self.statements:
            if statement.at is None:
                return None
            start, end = statement.at
            out.append(Statement(text=sql[start:end], start=start))
        return out

    def without_lock_timeout(self) -> dict[int, bool]:
        """By statement start: whether apply runs it without ``lock_timeout`` (every pinned
        statement's, when their places were pinned)."""
        if any(s.at is None for s in self.statements):
            return {}
        return {s.at[0]: s.without_lock_timeout for s in self.statements if s.at is not None}


@dataclass(frozen=True)
class PinnedPlan:
    migrations: dict[int, PinnedMigration] = field(default_factory=dict)

    def lookup(self, version: int, checksum: str) -> PinnedMigration | None:
        """The pinned plan of this migration; None when the file has no such version or the
        file it measured had other bytes."""
        found = self.migrations.get(version)
        return found if found is not None and found.checksum == checksum else None


def statements_of(migration: Migration, plan: PinnedPlan | None = None) -> list[Statement]:
    """``migration``'s statements as apply sends them: where the pinned plan (default: the
    bundled one) found them when it has these very bytes, so the bundle's deploy never loads
    the parser; else split by the parser (``sql.split``). The pinned places are checked
    against the parser's by ``fixtures update --check``."""
    found = (plan if plan is not None else load()).lookup(
        migration.version, migration.checksum.hex()
    )
    pinned = found.split(migration.sql) if found is not None else None
    return pinned if pinned is not None else split(migration.sql)


def without_lock_timeout_of(migration: Migration) -> dict[int, bool]:
    """By statement start, as the bundled pinned plan has these very bytes: whether apply runs
    the statement without ``lock_timeout``; empty when not pinned (the engine then asks the
    parser, ``sql.statement.inspect``)."""
    found = load().lookup(migration.version, migration.checksum.hex())
    return found.without_lock_timeout() if found is not None else {}


def major_of(server_version: str | None) -> int | None:
    """``18.1`` or ``15.14 (Debian 15.14-1)`` -> the major; None when unknown."""
    head = (server_version or "").partition(".")[0].split()
    return int(head[0]) if head and head[0].isdigit() else None


def default_path() -> Path:
    return bundled_path("fixtures") / FILE


#: Plans already parsed, by file and the stat that says it is the same file (a report and a
#: trace of one run both read it).
_loaded: dict[tuple[Path, int, int], PinnedPlan] = {}


def load(path: Path | None = None) -> PinnedPlan:
    """The pinned plan at ``path`` (default: the bundled one); an empty plan when there is no
    such file. A file that is not a pinned plan raises ``ConfigError``."""
    where = path if path is not None else default_path()
    try:
        stat = where.stat()
        key = (where, stat.st_mtime_ns, stat.st_size)
        cached = _loaded.get(key)
        if cached is not None:
            return cached
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return PinnedPlan()
    except OSError as exc:
        raise ConfigError(f"cannot read the pinned lock plan {where}: {exc.strerror}") from None
    plan = parse(text, where)
    _loaded[key] = plan
    return plan


def parse(text: str, where: Path | str = FILE) -> PinnedPlan:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("fixture") != KIND:
            raise ValueError(f"not a {KIND}")
        migrations = [_migration(m) for m in data["migrations"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"{where} is not a pinned lock plan ({exc}): it is generated, never edited by "
            "hand; rebuild it with `gordon-migrate fixtures update`"
        ) from None
    return PinnedPlan({m.version: m for m in migrations})


def _migration(data: dict[str, Any]) -> PinnedMigration:
    return PinnedMigration(
        version=int(data["version"]),
        file=str(data["file"]),
        checksum=str(data["checksum"]),
        no_transaction=bool(data["no_transaction"]),
        server_major=int(data["server_major"]),
        statements=tuple(
            _with(
                PinnedStatement(
                    line=int(s["line"]),
                    at=_at(s.get("at")),
                    without_lock_timeout=bool(s.get("without_lock_timeout", False)),
                ),
                s,
            )
            for s in data["statements"]
        ),
        by_major={
            int(major): tuple(dict(d) for d in differences)
            for major, differences in data.get("by_major", {}).items()
        },
    )


def _at(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    start, end = value
    return int(start), int(end)


def _with(statement: PinnedStatement, facts: dict[str, Any]) -> PinnedStatement:
    """``statement`` with the facts ``facts`` gives (the others as they are)."""
    changes: dict[str, Any] = {}
    for name in FACTS:
        if name not in facts:
            continue
        value = facts[name]
        if name == "locks":
            changes[name] = tuple(_lock(x) for x in value)
        elif name == "sampled":
            changes[name] = bool(value)
        else:
            changes[name] = tuple(str(x) for x in value)
    return replace(statement, **changes)


def _lock(data: dict[str, Any]) -> Lock:
    via = data.get("via")
    return Lock(
        object=str(data["object"]),
        kind=str(data["kind"]),
        mode=str(data["mode"]),
        via=None if via is None else str(via),
        new=bool(data.get("new", False)),
        dead=bool(data.get("dead", False)),
    )


def lock_json(lock: Lock) -> dict[str, Any]:
    """A lock as the file holds it: ``via``, ``new`` and ``dead`` only when they say
    something."""
    out: dict[str, Any] = {"object": lock.object, "kind": lock.kind, "mode": lock.mode}
    if lock.via is not None:
        out["via"] = lock.via
    if lock.new:
        out["new"] = True
    if lock.dead:
        out["dead"] = True
    return out


def facts_json(statement: PinnedStatement) -> dict[str, Any]:
    """Every fact of ``statement``, in the file's order."""
    return {
        "locks": [lock_json(x) for x in statement.locks],
        "rewritten": list(statement.rewritten),
        "scanned": list(statement.scanned),
        "created": list(statement.created),
        "dropped": list(statement.dropped),
        "sampled": statement.sampled,
    }
