"""Expected lines against actual lines, object by object."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable

from gordon_migrate.drift import fix
from gordon_migrate.drift.model import Difference, Line

# How facets read best (the fixture files keep them sorted); the rest follow alphabetically.
_FACET_ORDER = {
    facet: rank
    for rank, facet in enumerate(
        (
            "kind",
            "type",
            "base type",
            "position",
            "not null",
            "default",
            "identity",
            "generated",
            "definition",
            "enabled",
            "valid",
            "command",
            "roles",
            "using",
            "with check",
            "arguments",
            "returns",
            "language",
            "volatility",
            "security",
            "settings",
            "body",
            "owner",
            "privileges",
        )
    )
}


def _facet_key(line: Line) -> tuple[int, str]:
    return (_FACET_ORDER.get(line.facet, len(_FACET_ORDER)), line.facet)


def _definition(facets: list[Line]) -> str:
    return "\n".join(f.definition_line() for f in sorted(facets, key=_facet_key))


def definitions(lines: Iterable[Line]) -> dict[str, str]:
    """Each object's definition: its facets, one per line, in reading order."""
    return {obj: _definition(facets) for obj, facets in _grouped(lines).items()}


def _grouped(lines: Iterable[Line]) -> dict[str, list[Line]]:
    grouped: dict[str, list[Line]] = {}
    for line in lines:
        grouped.setdefault(line.object, []).append(line)
    return grouped


def compare(
    expected: Iterable[Line], actual: Iterable[Line], fixes: fix.Context | None = None
) -> tuple[Difference, ...]:
    """Every object missing, unexpected or changed, sorted by object; with ``fixes``, each
    with the SQL that restores it (``drift.fix``)."""
    want_lines, have_lines = _grouped(expected), _grouped(actual)
    want = {obj: _definition(lines) for obj, lines in want_lines.items()}
    have = {obj: _definition(lines) for obj, lines in have_lines.items()}
    out: list[Difference] = []
    for obj in sorted(want.keys() | have.keys()):
        before, after = want.get(obj), have.get(obj)
        if before == after:
            continue
        if after is None:
            difference = Difference(obj, "missing", before, None)
        elif before is None:
            difference = Difference(obj, "unexpected", None, after)
        else:
            difference = Difference(obj, "changed", before, after, diff=unified(before, after))
        if fixes is not None:
            found = fix.fix_for(obj, want_lines.get(obj), have_lines.get(obj), fixes)
            difference = dataclasses.replace(difference, fix=found.sql, fix_note=found.note)
        out.append(difference)
    return tuple(out)


def unified(before: str, after: str) -> str | None:
    """A unified diff when either side spans several lines (one-liners read better as is)."""
    if "\n" not in before and "\n" not in after:
        return None
    return "\n".join(
        difflib.unified_diff(
            before.split("\n"), after.split("\n"), "expected", "actual", lineterm="", n=3
        )
    )
