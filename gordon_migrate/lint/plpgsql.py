"""What a PL/pgSQL body (a ``DO`` block, a function) runs, as far as pglast's PL/pgSQL parser
shows it: the SQL of its statements, and what its ``EXECUTE``s run when that is a literal
(``EXECUTE format('ALTER ROLE %I ...', r)``). A dynamic string that is not a literal is opaque.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pglast import ast, parse_plpgsql, parse_sql
from pglast.parser import ParseError

# format()'s placeholders: what stands in their place is an identifier, a literal or either.
_FORMAT_SPEC = re.compile(r"%(?:\d+\$)?-?\d*([sIL%])")
_PLACEHOLDER = {"s": "x", "I": "x", "L": "'x'", "%": "%"}

# Statements that take no lock that stops the services on a relation: what a body may run
# without being "DDL lint cannot see". Roles are cluster objects: no table lock.
_NOT_DDL = (
    ast.SelectStmt,
    ast.InsertStmt,
    ast.UpdateStmt,
    ast.DeleteStmt,
    ast.MergeStmt,
    ast.NotifyStmt,
    ast.VariableSetStmt,
    ast.VariableShowStmt,
    ast.CreateRoleStmt,
    ast.AlterRoleStmt,
    ast.AlterRoleSetStmt,
    ast.DropRoleStmt,
    ast.GrantRoleStmt,
    # Privileges take no lock that stops the services (tests/test_lint_shape.py asks the
    # server); what they change is the access delta's to show, measured on the scratch.
    ast.GrantStmt,
    ast.AlterDefaultPrivilegesStmt,
)


@dataclass(frozen=True)
class Body:
    """A parsed body: ``statements`` the SQL it runs as written (and the literal SQL of its
    EXECUTEs), ``opaque`` the EXECUTEd expressions no parser can read before run time."""

    statements: tuple[ast.Node, ...]
    opaque: tuple[str, ...]

    def ddl(self) -> list[str]:
        """What lint cannot plan in this body: each DDL statement kind, each opaque EXECUTE."""
        found = [f"EXECUTE {expr}" for expr in self.opaque]
        for node in self.statements:
            if not isinstance(node, _NOT_DDL):
                found.append(type(node).__name__.removesuffix("Stmt"))
        return found


def parse(body: str) -> Body | None:
    """The PL/pgSQL ``body`` (the text between the dollar quotes); None if it does not parse."""
    tag = "$gordon_body$"
    n = 0
    while tag in body:
        n += 1
        tag = f"$gordon_body{n}$"
    try:
        tree = parse_plpgsql(
            f"CREATE FUNCTION gordon_lint() RETURNS void LANGUAGE plpgsql AS {tag}{body}{tag}"
        )
    except ParseError:
        return None
    statements: list[ast.Node] = []
    opaque: list[str] = []
    for kind, query in _queries(tree):
        text = _literal(query) if kind == "dynamic" else query
        if text is None:
            opaque.append(query)
            continue
        try:
            statements.extend(raw.stmt for raw in parse_sql(text) if raw.stmt is not None)
        except ParseError:
            if kind == "dynamic":
                opaque.append(query)
    return Body(tuple(statements), tuple(opaque))


def _queries(node: object) -> Iterator[tuple[str, str]]:
    """("static" | "expr" | "dynamic", SQL) for everything the parse tree runs."""
    if isinstance(node, dict):
        expr = node.get("PLpgSQL_expr")
        if isinstance(expr, dict):
            query = str(expr.get("query", ""))
            # 0: a statement; otherwise an expression (IF EXISTS (SELECT ...), x := ...).
            yield ("static", query) if expr.get("parseMode") == 0 else ("expr", f"SELECT {query}")
            return
        for name, value in node.items():
            if name == "PLpgSQL_stmt_dynexecute" and isinstance(value, dict):
                yield "dynamic", _expr(value.get("query"))
            elif name == "dynquery":  # OPEN ... FOR EXECUTE, RETURN QUERY EXECUTE
                yield "dynamic", _expr(value)
            else:
                yield from _queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _queries(item)


def _expr(node: object) -> str:
    if isinstance(node, dict):
        expr = node.get("PLpgSQL_expr")
        if isinstance(expr, dict):
            return str(expr.get("query", ""))
    return ""


def _literal(expr: str) -> str | None:
    """The SQL an EXECUTE runs when it is a string constant or ``format()`` of one."""
    try:
        raw = parse_sql(f"SELECT {expr}")
    except ParseError:
        return None
    select = raw[0].stmt if raw else None
    if not isinstance(select, ast.SelectStmt) or not select.targetList:
        return None
    target = select.targetList[0]
    value = target.val if isinstance(target, ast.ResTarget) else None
    if isinstance(value, ast.FuncCall):
        names = [s.sval for s in value.funcname or () if isinstance(s, ast.String)]
        if names[-1:] != ["format"] or not value.args:
            return None
        text = _string(value.args[0])
        return None if text is None else _FORMAT_SPEC.sub(lambda m: _PLACEHOLDER[m[1]], text)
    return _string(value)


def _string(node: object) -> str | None:
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return node.val.sval or ""
    return None
