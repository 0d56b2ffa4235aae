"""The lock corpus (``tests/data/lock_corpus.sql``): statements against the v7 schema, each
with what it needs first, read as plain entries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "data" / "lock_corpus.sql"
_MAJOR = re.compile(r"-- pg\d+:")


@dataclass(frozen=True)
class Entry:
    name: str
    sql: str
    """The statement, as a migration holds it (ending in ``;``)."""
    setup: tuple[str, ...] = ()
    """Run before, as a migration of its own: not measured."""
    no_transaction: bool = False
    renamed: tuple[tuple[str, str], ...] = ()
    """(new name, old name) of what the statement renames or moves."""
    per_major: tuple[tuple[int, str, str], ...] = ()
    """(major, relation, mode): a lock that major's server shows beyond the plan, on purpose."""


def entries(path: Path = PATH) -> list[Entry]:
    out: list[Entry] = []
    name: str | None = None
    setup: list[str] = []
    no_transaction = False
    renamed: list[tuple[str, str]] = []
    per_major: list[tuple[int, str, str]] = []
    body: list[str] = []

    def close() -> None:
        if name is not None:
            sql = "\n".join(body).strip()
            assert sql.endswith(";"), f"{name}: the statement must end in ';'"
            out.append(
                Entry(name, sql, tuple(setup), no_transaction, tuple(renamed), tuple(per_major))
            )

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name:"):
            close()
            name, setup, no_transaction, renamed, per_major, body = (
                line.split(":", 1)[1].strip(),
                [],
                False,
                [],
                [],
                [],
            )
        elif name is None:
            continue
        elif line.startswith("-- setup:"):
            setup.append(line.split(":", 1)[1].strip())
        elif line.startswith("-- renamed:"):
            new, old = line.split(":", 1)[1].split("=")
            renamed.append((new.strip(), old.strip()))
        elif _MAJOR.match(line):
            major, rest = line.removeprefix("-- pg").split(":", 1)
            relation, mode = rest.split("=")
            per_major.append((int(major), relation.strip(), mode.strip()))
        elif line.strip() == "-- no-transaction":
            no_transaction = True
        elif line.startswith("--") or (not line.strip() and not body):
            continue
        else:
            body.append(line)
    close()
    names = [e.name for e in out]
    assert len(names) == len(set(names)), "corpus names must be unique"
    return out
