"""Volatility of the functions an expression calls, as PostgreSQL would judge them.

Three sources, none a list in the code: what the bundle's own ``CREATE FUNCTION`` statements
declare (replayed into the lint ``Catalog``), the target's ``pg_proc`` with
``--database-url`` (``LiveInfo.functions``), and the pinned ``pg_catalog`` of every supported
major (``rehearse.functions``, ``fixtures/functions.txt``). A call is resolved by its name and
its argument count; when several functions could be meant, the most volatile one is taken.
A function found nowhere is taken as volatile (a rewrite is the safe guess) and named.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from pglast import ast, enums

from gordon_migrate.lint.nodes import nodes_of
from gordon_migrate.rehearse import functions
from gordon_migrate.rehearse.functions import CATALOG, Signature, Volatility

#: schema.name -> the signatures the bundle's migrations declared (latest first wins).
Declared = dict[str, list[Signature]]


def _strings(items: Sequence[object] | None) -> list[str]:
    return [s.sval or "" for s in items or () if isinstance(s, ast.String)]


def declare(declared: Declared, node: ast.CreateFunctionStmt) -> None:
    """Record a ``CREATE [OR REPLACE] FUNCTION`` as PostgreSQL would: volatility as written,
    VOLATILE when it says nothing; an earlier one with the same argument counts is replaced."""
    if node.is_procedure:
        return
    names = _strings(node.funcname)
    if not names:
        return
    key = ".".join(names) if len(names) > 1 else f"public.{names[0]}"
    mode = enums.FunctionParameterMode
    # pronargs counts the input parameters (a parameter without a mode is one): not OUT, TABLE.
    inputs = [
        p
        for p in node.parameters or ()
        if isinstance(p, ast.FunctionParameter)
        and p.mode not in (mode.FUNC_PARAM_OUT, mode.FUNC_PARAM_TABLE)
    ]
    word = next(
        (
            o.arg.sval
            for o in node.options or ()
            if isinstance(o, ast.DefElem) and o.defname == "volatility"
            if isinstance(o.arg, ast.String) and o.arg.sval
        ),
        "volatile",
    )
    schema, _, name = key.rpartition(".")
    found = functions.signature(
        schema,
        name,
        len(inputs),
        sum(1 for p in inputs if p.defexpr is not None),
        any(p.mode == mode.FUNC_PARAM_VARIADIC for p in inputs),
        functions.WORDS.get(word.lower(), "v"),
    )
    same = [s for s in declared.get(key, []) if (s.low, s.high) != (found.low, found.high)]
    declared[key] = [found, *same]


def alter(declared: Declared, node: ast.AlterFunctionStmt) -> None:
    """``ALTER FUNCTION f(...) STABLE``: every declared overload of ``f`` of that many
    arguments takes the new volatility."""
    func = node.func
    if not isinstance(func, ast.ObjectWithArgs):
        return
    word = next(
        (
            a.arg.sval
            for a in node.actions or ()
            if isinstance(a, ast.DefElem) and a.defname == "volatility"
            if isinstance(a.arg, ast.String) and a.arg.sval
        ),
        None,
    )
    volatility = functions.WORDS.get((word or "").lower())
    names = _strings(func.objname)
    if volatility is None or not names:
        return
    key = ".".join(names) if len(names) > 1 else f"public.{names[0]}"
    count = None if func.args_unspecified else len(func.objargs or ())
    declared[key] = [
        Signature(s.schema, s.name, s.low, s.high, volatility)
        if count is None or s.accepts(count)
        else s
        for s in declared.get(key, [])
    ]


@dataclass(frozen=True)
class Judgement:
    """Whether an expression calls anything volatile, and the calls that could not be
    resolved (taken as volatile)."""

    volatile: bool
    unknown: tuple[str, ...] = ()


def _calls(node: object) -> Iterator[tuple[list[str], int]]:
    """Each function call of an expression: its name parts and argument count. A cast is a
    call of the function named after its type with one argument, when there is one."""
    for each in nodes_of(node, ast.Node):
        if isinstance(each, ast.FuncCall):
            yield _strings(each.funcname), len(each.args or ())
        elif isinstance(each, ast.TypeCast) and each.typeName is not None:
            names = _strings(each.typeName.names)
            if names:
                yield [CAST, names[-1]], 1


#: A marker schema for a cast: resolved in pg_catalog only, and nothing when not found there
#: (a cast without a function goes through the type's input and output functions, which
#: CREATE TYPE warns must not be volatile).
CAST = "(cast)"


def judge(expr: object, declared: Declared, live: frozenset[Signature] | None) -> Judgement:
    """``expr``'s volatility (``SQLValueFunction`` keywords such as ``CURRENT_TIMESTAMP``
    are stable: the value of the transaction's start, the session's user)."""
    catalog = _by_name(live if live is not None else functions.bundled().every)
    volatile = False
    unknown: list[str] = []
    for parts, count in _calls(expr):
        if not parts:
            continue
        cast = parts[0] == CAST
        found = _resolve([CATALOG, parts[1]] if cast else parts, count, declared, catalog)
        if found is None:
            if not cast:
                unknown.append(".".join(parts))
                volatile = True
        elif found == "v":
            volatile = True
    return Judgement(volatile, tuple(dict.fromkeys(unknown)))


@functools.lru_cache(maxsize=4)
def _by_name(catalog: frozenset[Signature]) -> Mapping[str, list[Signature]]:
    """The functions by name: built once per catalog (the pinned one, or a target's), not
    once per call."""
    out: dict[str, list[Signature]] = {}
    for s in catalog:
        out.setdefault(s.name, []).append(s)
    return out


def _resolve(
    parts: list[str], count: int, declared: Declared, catalog: Mapping[str, list[Signature]]
) -> Volatility | None:
    name = parts[-1]
    schema = parts[0] if len(parts) > 1 else None
    if schema in (None, CATALOG):
        # pg_catalog is searched first unless a search_path names it later: a Gordon function
        # does not shadow a built-in one.
        own = [s for s in catalog.get(name, ()) if s.schema == CATALOG]
        by_count = [s for s in own if s.accepts(count)]
        if by_count:
            return functions.most_volatile(by_count)
        if schema == CATALOG:
            return functions.most_volatile(own) if own else None
    # The bundle's declaration of a function is what the migration will meet: it replaces
    # the target's of the same arguments (the target runs an older version of the bundle).
    mine = [
        s
        for key, found in declared.items()
        if key.rpartition(".")[2] == name and (schema is None or key == f"{schema}.{name}")
        for s in found
    ]
    theirs = [
        s
        for s in catalog.get(name, ())
        if s.schema != CATALOG
        and (schema is None or s.schema == schema)
        and not any((s.schema, s.low, s.high) == (m.schema, m.low, m.high) for m in mine)
    ]
    candidates = mine + theirs
    if not candidates:
        return None
    # Overloads told apart by argument count where they can be; when several remain (or
    # none takes this many arguments: the argument types decide, which lint does not know),
    # the most volatile one is taken.
    by_count = [s for s in candidates if s.accepts(count)]
    return functions.most_volatile(by_count or candidates)
