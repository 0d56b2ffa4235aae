"""Writing the pinned lock plan (``pinned`` reads it): a rehearsal of the whole bundle from
empty, merged with the plan pinned before, as the text of ``lockplan.json``.

A run on the embedded default major (``EMBEDDED_VERSION``) measures each migration's plan; a
run on another major keeps that plan and records, under ``by_major``, only where this major
differs from it. So ``fixtures update --pg-version 16`` (or on a PostgreSQL 15 scratch server)
checks and pins its own major without rewriting the others'.

The file is JSON laid out for review: one line per statement, so a pull request's diff names
the statement whose locks changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.settings import EMBEDDED_VERSION
from gordon_migrate.rehearse.model import MigrationFacts, Rehearsal, StatementFacts
from gordon_migrate.rehearse.pinned import (
    KIND,
    PinnedMigration,
    PinnedPlan,
    PinnedStatement,
    facts_json,
    major_of,
)
from gordon_migrate.sql.split import split
from gordon_migrate.sql.statement import inspect

# The scratch database's name is random (``run._scratch``); a lock on it is a lock on the
# database the migration runs in, whatever that one is called.
_SCRATCH_DATABASE = re.compile(r"database gordon_rehearse_[0-9a-f]+")
CURRENT_DATABASE = "database (current)"


def pinned_statement(
    facts: StatementFacts, at: tuple[int, int] | None = None, without_lock_timeout: bool = False
) -> PinnedStatement:
    """What is pinned of a measured statement: its facts but the duration and the text.

    A sampled statement's locks on what it creates itself are left out: the sampler sees such
    a lock or not by chance (``CREATE INDEX CONCURRENTLY``'s new index is caught in ROW
    EXCLUSIVE, ACCESS EXCLUSIVE or not at all, run to run), and no other session could wait
    on it. So are its locks on an index it had marked dead (the last step of a concurrent drop
    or rebuild): caught by chance too, and no reader or writer opens a dead index. Its locks
    on the tables it works on are seen every time (``run._Sampler``).
    """
    locks = tuple(
        replace(lock, object=_SCRATCH_DATABASE.sub(CURRENT_DATABASE, lock.object))
        if lock.kind == "object"
        else lock
        for lock in facts.locks
        if not (facts.sampled and (lock.new or lock.dead))
    )
    return PinnedStatement(
        line=facts.line,
        locks=locks,
        rewritten=facts.rewritten,
        scanned=facts.scanned,
        created=facts.created,
        dropped=facts.dropped,
        sampled=facts.sampled,
        at=at,
        without_lock_timeout=without_lock_timeout,
    )


def merge(
    prior: PinnedPlan,
    migrations: Sequence[Migration],
    rehearsal: Rehearsal,
    *,
    base_major: int = EMBEDDED_VERSION,
) -> PinnedPlan:
    """The plan to pin for ``migrations``, measured by ``rehearsal`` (all of them, from empty),
    given what ``prior`` pinned: this major's facts replace its own, the other majors' stay.
    A migration ``prior`` has with other bytes, or not at all, starts anew from this major."""
    major = major_of(rehearsal.server_version)
    if major is None:
        raise ValueError(f"not a PostgreSQL version: {rehearsal.server_version!r}")
    measured: dict[int, MigrationFacts] = {m.version: m for m in rehearsal.migrations}
    out: dict[int, PinnedMigration] = {}
    for migration in migrations:
        facts = measured[migration.version]
        # The rehearsal ran the parser's statements in order: one measured per statement.
        parsed = split(migration.sql)
        if len(parsed) != len(facts.statements):
            raise ValueError(f"{migration.filename}: the rehearsal measured another split")
        places = [(s.start, s.start + len(s.text)) for s in parsed]
        patient = [
            migration.no_transaction and inspect(s.text).share_update_exclusive_only for s in parsed
        ]
        statements = tuple(
            pinned_statement(s, at, light)
            for s, at, light in zip(facts.statements, places, patient, strict=True)
        )
        fresh = PinnedMigration(
            version=migration.version,
            file=migration.filename,
            checksum=migration.checksum.hex(),
            no_transaction=facts.no_transaction,
            server_major=major,
            statements=statements,
        )
        old = prior.lookup(migration.version, fresh.checksum)
        if old is None:
            out[migration.version] = fresh
        elif major in (old.server_major, base_major):
            # This major measures the plan itself; every other one measured is kept as its
            # differences from it.
            others = {k: old.on(k) for k in old.majors if k != major}
            out[migration.version] = replace(
                fresh,
                by_major={
                    k: differences(s, statements) for k, s in others.items() if s is not None
                },
            )
        else:
            by_major = {**old.by_major, major: differences(statements, old.statements)}
            out[migration.version] = replace(
                old,
                file=migration.filename,
                statements=tuple(
                    replace(s, at=at, without_lock_timeout=light)
                    for s, at, light in zip(old.statements, places, patient, strict=True)
                ),
                by_major=dict(sorted(by_major.items())),
            )
    return PinnedPlan(out)


def differences(
    statements: Sequence[PinnedStatement], base: Sequence[PinnedStatement]
) -> tuple[dict[str, Any], ...]:
    """The statements of ``statements`` whose facts differ from ``base``'s statement on the same
    line, each as its line and the facts that differ."""
    by_line = {s.line: facts_json(s) for s in base}
    out = []
    for statement in statements:
        mine = facts_json(statement)
        theirs = by_line.get(statement.line, {})
        differing = {k: v for k, v in mine.items() if theirs.get(k) != v}
        if differing:
            out.append({"line": statement.line, **differing})
    return tuple(out)


def render(plan: PinnedPlan) -> str:
    """The file's text: JSON, one line per statement (and per major's difference)."""
    lines = [
        "{",
        f' "fixture": {_dump(KIND)},',
        ' "generated_by": "gordon-migrate fixtures update (do not edit): every bundled '
        'migration rehearsed from empty; durations and statement text are not pinned",',
        ' "migrations": [',
    ]
    migrations = sorted(plan.migrations.values(), key=lambda m: m.version)
    for i, m in enumerate(migrations):
        head = {
            "version": m.version,
            "file": m.file,
            "checksum": m.checksum,
            "no_transaction": m.no_transaction,
            "server_major": m.server_major,
        }
        lines.append(f"  {_dump(head)[:-1]}, " + '"statements": [')
        lines.extend(_items([_statement_json(s) for s in m.statements], "   "))
        if m.by_major:
            lines.append('  ], "by_major": {')
            majors = sorted(m.by_major.items())
            for j, (major, diffs) in enumerate(majors):
                close = "]" + ("," if j < len(majors) - 1 else "")
                if not diffs:
                    lines.append(f'   "{major}": []{close[1:]}')
                    continue
                lines.append(f'   "{major}": [')
                lines.extend(_items(list(diffs), "    "))
                lines.append(f"   {close}")
            lines.append("  }}" + ("," if i < len(migrations) - 1 else ""))
        else:
            lines.append("  ]}" + ("," if i < len(migrations) - 1 else ""))
    lines.extend([" ]", "}"])
    return "\n".join(lines) + "\n"


def _statement_json(statement: PinnedStatement) -> dict[str, Any]:
    place: dict[str, Any] = {} if statement.at is None else {"at": list(statement.at)}
    if statement.without_lock_timeout:
        place["without_lock_timeout"] = True
    return {"line": statement.line, **place, **facts_json(statement)}


def _items(items: Sequence[dict[str, Any]], indent: str) -> list[str]:
    last = len(items) - 1
    return [f"{indent}{_dump(x)}" + ("," if k < last else "") for k, x in enumerate(items)]


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def changes(old: PinnedPlan, new: PinnedPlan) -> list[str]:
    """What differs from ``old`` to ``new``, one phrase per migration or statement:
    ``0012_x.sql:5 locks, scanned``, ``0012_x.sql:5 on PostgreSQL 16: created``."""
    out: list[str] = []
    for version in sorted({*old.migrations, *new.migrations}):
        was, now = old.migrations.get(version), new.migrations.get(version)
        if now is None:
            assert was is not None
            out.append(f"{was.file}: not in the bundle any more")
        elif was is None:
            out.append(f"{now.file}: not pinned yet")
        elif was.checksum != now.checksum:
            out.append(f"{now.file}: pinned for other bytes (the file was edited)")
        else:
            out.extend(_statement_changes(was, now))
    return out


def _statement_changes(was: PinnedMigration, now: PinnedMigration) -> list[str]:
    out = []
    for major in sorted({*was.majors, *now.majors}):
        before, after = was.on(major), now.on(major)
        on = "" if major == now.server_major else f" on PostgreSQL {major}"
        if before is None or after is None:
            out.append(f"{now.file}{on}: {'measured' if before is None else 'no longer measured'}")
            continue
        for diff in differences(after, before):
            facts = ", ".join(k for k in diff if k != "line")
            out.append(f"{now.file}:{diff['line']}{on}: {facts}")
    if not out and was != now:
        out.append(f"{now.file}: measured on PostgreSQL {now.server_major}")
    return out
