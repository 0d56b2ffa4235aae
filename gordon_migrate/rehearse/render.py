"""A rehearsal as text and JSON (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gordon_migrate.rehearse.model import (
    AccessChange,
    Lock,
    MigrationFacts,
    Rehearsal,
    StatementFacts,
    strength,
)

_SHORT = 72


def to_json(rehearsal: Rehearsal) -> dict[str, Any]:
    return {"ok": True, **rehearsal.to_json()}


def text(rehearsal: Rehearsal) -> str:
    lines: list[str] = []
    if rehearsal.replayed:
        lines.append(f"replayed {len(rehearsal.replayed)} applied migration(s) on the scratch")
    if not rehearsal.migrations:
        lines.append("nothing pending: no migration to rehearse")
    for migration in rehearsal.migrations:
        lines.extend(_migration(migration))
    lines.append(f"measured on PostgreSQL {rehearsal.server_version} in {_ms(rehearsal.ms)}")
    return "\n".join(lines) + "\n"


def held_until_commit(migration: MigrationFacts) -> tuple[Lock, ...]:
    """The strongest lock per object over the migration's statements: a transaction holds
    every lock it took until it commits."""
    strongest: dict[tuple[str, str, bool], Lock] = {}
    for statement in migration.statements:
        for lock in statement.locks:
            key = (lock.object, lock.kind, lock.new)
            held = strongest.get(key)
            if held is None or strength(lock.mode) > strength(held.mode):
                strongest[key] = lock
            elif strength(lock.mode) == strength(held.mode) and lock.via is None:
                strongest[key] = lock  # the table's own lock says more than one via an index
    return tuple(sorted(strongest.values(), key=lambda x: (x.kind == "object", x.object)))


def _migration(migration: MigrationFacts) -> list[str]:
    how = (
        "outside a transaction (each statement commits on its own)"
        if migration.no_transaction
        else "in one transaction"
    )
    out = [f"{migration.version:04d} ({migration.filename}): {how}, {_ms(migration.ms)}"]
    for statement in migration.statements:
        out.extend(_statement(migration.filename, statement))
    if not migration.no_transaction and migration.statements:
        out.append(f"  held until commit: {_locks(held_until_commit(migration)) or 'none'}")
    out.extend(access_lines(migration.access))
    return out


def access_lines(changes: Iterable[AccessChange], indent: str = "  ") -> list[str]:
    """A migration's access delta (``access.delta``), errors first, each with why."""
    listed = sorted(changes, key=lambda change: not change.error)
    if not listed:
        return [f"{indent}access: unchanged"]
    out = [f"{indent}access:"]
    for change in listed:
        if change.error:
            out.append(f"{indent}  ERROR {change.text} ({change.why})")
        else:
            out.append(f"{indent}  info  {change.text}")
    return out


def _statement(filename: str, statement: StatementFacts) -> list[str]:
    out = [f"  {filename}:{statement.line}  {_short(statement.text)}  ({_ms(statement.ms)})"]
    label = "locks (sampled)" if statement.sampled else "locks"
    out.append(f"    {label}: {_locks(statement.locks) or 'none new'}")
    for name, values in (
        ("rewritten", statement.rewritten),
        ("scanned", statement.scanned),
        ("created", statement.created),
        ("dropped", statement.dropped),
    ):
        if values:
            out.append(f"    {name}: {', '.join(values)}")
    return out


def _locks(locks: Iterable[Lock]) -> str:
    return ", ".join(_lock(lock) for lock in locks)


def _lock(lock: Lock) -> str:
    kind = "" if lock.kind in ("table", "object") else lock.kind
    kind = f"new {kind}".strip() if lock.new else kind
    kind = f" ({kind})" if kind else ""
    via = f" through {lock.via}" if lock.via else ""
    return f"{lock.object}{kind}: {lock.mode}{via}"


def _short(statement: str) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= _SHORT else flat[: _SHORT - 3] + "..."


def _ms(ms: float) -> str:
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"
