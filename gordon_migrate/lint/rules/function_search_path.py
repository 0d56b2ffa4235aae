"""function-search-path: function without a fixed search_path."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.analyze import _strings
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    # A SECURITY DEFINER function's search_path is judged, with the rest of its hardening,
    # by security-definer: one finding that says everything it lacks.
    if not isinstance(node, ast.CreateFunctionStmt) or any(
        isinstance(o, ast.DefElem)
        and o.defname == "security"
        and isinstance(o.arg, ast.Boolean)
        and bool(o.arg.boolval)
        for o in node.options or ()
    ):
        return
    fixed_path = any(
        isinstance(o, ast.DefElem)
        and o.defname == "set"
        and isinstance(o.arg, ast.VariableSetStmt)
        and o.arg.name == "search_path"
        and o.arg.kind == enums.VariableSetKind.VAR_SET_VALUE
        for o in node.options or ()
    )
    if not fixed_path:
        kind = "procedure" if node.is_procedure else "function"
        yield Hit(f"{kind} {'.'.join(_strings(node.funcname))} has no SET search_path = ...")


RULE = Rule(
    id="function-search-path",
    order=260,
    severity="error",
    summary="function without a fixed search_path",
    why=(
        "without a fixed search_path a function resolves names through the caller's path: a "
        "caller's schema can shadow tables and operators"
    ),
    fix=("add SET search_path = pg_catalog (and schema-qualify every name)"),
    fails=("CREATE FUNCTION trading.one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;",),
    passes=(
        (
            "CREATE FUNCTION trading.one() RETURNS int LANGUAGE sql SET search_path = "
            "pg_catalog AS $$ SELECT 1 $$;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
