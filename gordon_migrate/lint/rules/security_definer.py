"""security-definer: SECURITY DEFINER function."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pglast import ast

from gordon_migrate.lint.analyze import _strings
from gordon_migrate.lint.rules import Hit, Rule, Site

if TYPE_CHECKING:
    from gordon_migrate.lint.analyze import FileLinter


def check(site: Site, facts: FileLinter) -> Iterator[Hit]:
    node = site.node
    if isinstance(node, ast.CreateFunctionStmt):
        if any(_definer(o) for o in node.options or ()):
            kind = "procedure" if node.is_procedure else "function"
            yield Hit(f"{kind} {'.'.join(_strings(node.funcname))} is SECURITY DEFINER")
    elif isinstance(node, ast.AlterFunctionStmt):
        for action in node.actions or ():
            if _definer(action):
                yield Hit("ALTER FUNCTION ... SECURITY DEFINER")


def _definer(option: object) -> bool:
    return (
        isinstance(option, ast.DefElem)
        and option.defname == "security"
        and isinstance(option.arg, ast.Boolean)
        and bool(option.arg.boolval)
    )


RULE = Rule(
    id="security-definer",
    order=250,
    severity="error",
    summary="SECURITY DEFINER function",
    why=(
        "a SECURITY DEFINER function runs with its owner's (the migrator's) privileges: "
        "every caller can do what the migrator can"
    ),
    fix=(
        "use SECURITY INVOKER and grant what the callers need; if unavoidable, waive it with "
        "the reason, SET search_path = pg_catalog, and REVOKE EXECUTE FROM PUBLIC"
    ),
    fails=(
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SECURITY DEFINER SET "
            "search_path = pg_catalog AS $$ SELECT 1 $$;"
        ),
    ),
    passes=(
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SET search_path = "
            "pg_catalog AS $$ SELECT 1 $$;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
