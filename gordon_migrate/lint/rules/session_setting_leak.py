"""session-setting-leak: top-level SET/SET ROLE/RESET."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint.analyze import _strings
from gordon_migrate.lint.nodes import nodes_of
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site
from gordon_migrate.lint.rules.timeout_override import override


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if isinstance(node, ast.VariableSetStmt):
        # A timeout disabled or raised is timeout-override's finding (it says the leak too).
        if node.is_local or override(node) is not None:
            return
        what = node.name or "ALL"
        verb = "RESET" if node.kind and node.kind.name.startswith("VAR_RESET") else "SET"
        yield Hit(f"session-level {verb} {what} leaks into later migrations")
    elif isinstance(node, ast.SelectStmt):
        for call in _calls(node, "set_config"):
            args = call.args or ()
            if len(args) == 3 and _is_false(args[2]) and override(call) is None:
                yield Hit("set_config(..., false) is session-level and leaks into later migrations")


def _calls(node: object, name: str) -> Iterator[ast.FuncCall]:
    for call in nodes_of(node, ast.FuncCall):
        if (_strings(call.funcname) or [""])[-1] == name:
            yield call


def _is_false(expr: object) -> bool:
    value = expr.arg if isinstance(expr, ast.TypeCast) else expr
    if not isinstance(value, ast.A_Const):
        return False
    const = value.val
    if isinstance(const, ast.Boolean):
        return not const.boolval
    if isinstance(const, ast.String):
        return (const.sval or "").lower() in {"f", "false", "off", "no", "0"}
    return False


RULE = Rule(
    id="session-setting-leak",
    order=210,
    severity="error",
    summary="top-level SET/SET ROLE/RESET",
    why=(
        "apply runs every migration of a run on one connection: a session-level SET, SET "
        "ROLE or RESET changes how the later migrations of the run behave"
    ),
    fix=("use SET LOCAL (transaction-scoped), or a function's SET clause"),
    fails=(
        "SET statement_timeout = '5min';",
        "SELECT set_config('search_path', 'trading', false);",
    ),
    passes=(
        "SET LOCAL statement_timeout = '5min';",
        "SELECT set_config('search_path', 'trading', true);",
    ),
    sites=frozenset({"statement"}),
    check=check,
)
