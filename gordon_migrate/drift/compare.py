"""Expected lines against actual lines, object by object."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from itertools import groupby
from operator import attrgetter
from typing import TYPE_CHECKING

from gordon_migrate.drift.kinds import KINDS, parse_key, split_last
from gordon_migrate.drift.model import Difference, DifferenceKind, Line, difference_of

if TYPE_CHECKING:
    from gordon_migrate.drift import fix

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


# Facet names of an object -> a template writing its one-line facets in reading order:
# objects of one kind share their facet names, so the order is worked out once per kind,
# and the definition is written by one ``str.format`` in C.
_TEMPLATES: dict[tuple[str, ...], str] = {}


def _template(facets: list[Line], names: tuple[str, ...]) -> str:
    order = sorted(range(len(facets)), key=lambda i: _facet_key(facets[i]))
    return "\n".join(f"{names[i].replace('{', '{{').replace('}', '}}')}: {{{i}}}" for i in order)


def _definition(facets: list[Line]) -> str:
    if len(facets) == 1:  # most objects (privileges): nothing to order
        return facets[0].definition_line()
    _, names, values = zip(*facets, strict=True)  # the facets' names and values, in C
    if "\n" in "".join(values) or not all(values):
        # A multi-line or empty value reads differently (``Line.definition_line``).
        order = sorted(range(len(facets)), key=lambda i: _facet_key(facets[i]))
        return "\n".join([facets[i].definition_line() for i in order])
    template = _TEMPLATES.get(names)
    if template is None:
        template = _template(facets, names)
        if len(_TEMPLATES) < 10_000:
            _TEMPLATES[names] = template
    return template.format(*values)


def definitions(lines: Iterable[Line]) -> dict[str, str]:
    """Each object's definition: its facets, one per line, in reading order."""
    return {obj: _definition(facets) for obj, facets in _grouped(lines).items()}


_OBJECT = attrgetter("object")


def _grouped(lines: Iterable[Line]) -> dict[str, list[Line]]:
    # Sections are sorted: an object's lines are one run, taken whole in C (a run seen
    # again, in lines that are not sorted, is added to the first).
    grouped: dict[str, list[Line]] = {}
    for obj, run in groupby(lines, _OBJECT):
        found = grouped.get(obj)
        if found is None:
            grouped[obj] = list(run)
        else:
            found += run
    return grouped


def compare(
    expected: Iterable[Line], actual: Iterable[Line], fixes: fix.Context | None = None
) -> tuple[Difference, ...]:
    """Every object missing, unexpected or changed, sorted by object; with ``fixes``, each
    with the SQL that restores it (``drift.fix``)."""
    want_lines, have_lines = _grouped(expected), _grouped(actual)
    # Objects on one side only (every extra table's columns, indexes, grants...: most of a
    # big report) are found by set operations in C, not looked up one by one.
    wanted, had = want_lines.keys(), have_lines.keys()
    kinds: dict[str, DifferenceKind] = dict.fromkeys(had - wanted, "unexpected")
    kinds.update(dict.fromkeys(wanted - had, "missing"))
    # Sections are sorted: equal objects have equal line lists.
    kinds.update((obj, "changed") for obj in wanted & had if want_lines[obj] != have_lines[obj])
    members = _fold(kinds, want_lines, have_lines)
    out: list[Difference] = []
    if fixes is not None:
        # The fix script's statement forms: imported only by a check that writes them.
        from gordon_migrate.drift import fix
    for obj in sorted(kinds):
        kind = kinds[obj]
        diff = None
        if kind == "unexpected":
            want, have = None, have_lines[obj]
            before, after = None, _definition(have)
        elif kind == "missing":
            want, have = want_lines[obj], None
            before, after = _definition(want), None
        else:
            want, have = want_lines[obj], have_lines[obj]
            before, after = _definition(want), _definition(have)
            if before == after:
                continue
            diff = unified(before, after)
        sql = note = None
        if fixes is not None:
            found = fix.fix_for(obj, want, have, fixes)
            sql, note = found.sql, found.note
        parts = members.get(obj)
        out.append(
            difference_of(
                (
                    obj,
                    kind,
                    before,
                    after,
                    diff,
                    None,
                    sql,
                    note,
                    tuple(sorted(parts)) if parts else (),
                )
            )
        )
    return tuple(out)


#: What has parts (a relation, a type, a domain) and the parts named after it (``column s.t.c``;
#: an index by its definition), by the start of their keys.
_OWNER_PREFIXES = tuple(f"{kind.name} " for kind in KINDS.values() if kind.owns)
_PART_PREFIXES = tuple(f"{kind.name} " for kind in KINDS.values() if kind.part_of)
#: The parts whose kind is one word that starts no longer kind (``column``, ``index``...):
#: that word -> (the kind, what it is part of), found without ``parse_key``.
_PART_BY_WORD = {
    kind.name: (kind.name, kind.part_of)
    for kind in KINDS.values()
    if kind.part_of
    and " " not in kind.name
    and not any(k.startswith(f"{kind.name} ") for k in KINDS)
}
_FACET = attrgetter("facet")
_IDENTIFIER = r'(?:"(?:[^"]|"")*"|[^\s".]+)'
#: The relation of an index, from its definition (``pg_get_indexdef``'s words).
_INDEX_ON = re.compile(
    rf"CREATE (?:UNIQUE )?INDEX {_IDENTIFIER} ON (?:ONLY )?({_IDENTIFIER}\.{_IDENTIFIER}) USING "
)


def _index_relation(lines: list[Line]) -> str:
    """The relation an index is on, from its definition; "" when it cannot be read."""
    for line in lines:
        if line.facet == "definition":
            value = line.value
            if '"' not in value:  # no quoted name: the words themselves
                relation = value.partition(" ON ")[2].removeprefix("ONLY ")
                return relation.partition(" USING ")[0]
            found = _INDEX_ON.match(value)
            return found.group(1) if found else ""
    return ""


def _fold(
    kinds: dict[str, DifferenceKind],
    want_lines: Mapping[str, list[Line]],
    have_lines: Mapping[str, list[Line]],
) -> dict[str, list[str]]:
    """A missing or unexpected relation (or type, or domain) takes its parts missing or
    unexpected with it: its columns, constraints, indexes, triggers, rules and policies are
    removed from ``kinds`` and returned as its members (relation -> parts). One difference per
    object the operator decides about, not one per column: a rogue table is one line to drop,
    a missing one is the migration's to create, parts and all."""
    # family -> name -> (the object, one-sided, and how it is so)
    owners: dict[str | None, dict[str, tuple[str, DifferenceKind]]] = {}
    for obj, kind in kinds.items():
        if kind != "changed" and obj.startswith(_OWNER_PREFIXES):
            # Only an object that itself is there on one side only: its owner says so (a
            # facet alone, the row level security of the tool's history table, is not).
            lines = have_lines[obj] if kind == "unexpected" else want_lines[obj]
            if "owner" in map(_FACET, lines):
                owner_kind, name = parse_key(obj)
                family = KINDS[owner_kind].owns
                if family is not None:  # not a domain's constraint
                    owners.setdefault(family, {})[name] = (obj, kind)
    if not owners:
        return {}
    members: dict[str, list[str]] = {}
    # Inlined, and a part's kind found by its first word where that word is the whole kind:
    # tens of thousands of parts when thousands of tables are drift.
    for obj, kind in kinds.items():
        if kind == "changed":
            continue
        word, _, name = obj.partition(" ")
        found = _PART_BY_WORD.get(word)
        if found is not None:
            part, family = found
        elif obj.startswith(_PART_PREFIXES):
            part, name = parse_key(obj)
            family = KINDS[part].part_of
        else:
            continue
        named = owners.get(family)
        if named is None:
            continue
        if part == "index":
            lines = have_lines[obj] if kind == "unexpected" else want_lines[obj]
            owner_name = _index_relation(lines)
        elif name.endswith('"'):
            owner_name = split_last(name)[0]  # the last identifier is the part's own name
        else:
            owner_name = name.rpartition(".")[0]  # what split_last gives, without a call
        owner = named.get(owner_name)
        if owner is not None and owner[1] == kind:
            members.setdefault(owner[0], []).append(obj)
    for parts in members.values():
        for obj in parts:
            del kinds[obj]
    return members


def unified(before: str, after: str) -> str | None:
    """A unified diff when either side spans several lines (one-liners read better as is)."""
    if "\n" not in before and "\n" not in after:
        return None
    return "\n".join(
        difflib.unified_diff(
            before.split("\n"), after.split("\n"), "expected", "actual", lineterm="", n=3
        )
    )
