"""Expected lines against actual lines, object by object."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

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


def definitions(lines: Iterable[Line]) -> dict[str, str]:
    """Each object's definition: its facets, one per line, in reading order."""
    grouped: dict[str, list[Line]] = {}
    for line in lines:
        grouped.setdefault(line.object, []).append(line)
    return {
        obj: "\n".join(f.definition_line() for f in sorted(facets, key=_facet_key))
        for obj, facets in grouped.items()
    }


def compare(expected: Iterable[Line], actual: Iterable[Line]) -> tuple[Difference, ...]:
    """Every object missing, unexpected or changed, sorted by object."""
    want = definitions(expected)
    have = definitions(actual)
    out: list[Difference] = []
    for obj in sorted(want.keys() | have.keys()):
        before, after = want.get(obj), have.get(obj)
        if before == after:
            continue
        if after is None:
            out.append(Difference(obj, "missing", before, None))
        elif before is None:
            out.append(Difference(obj, "unexpected", None, after))
        else:
            out.append(Difference(obj, "changed", before, after, diff=unified(before, after)))
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
