"""``lint.nodes.nodes_of``: the one parse-tree walk of the linter and its rules."""

from __future__ import annotations

from pglast import ast, parse_sql

from gordon_migrate.lint.nodes import nodes_of


def _statement(sql: str) -> ast.Node:
    (raw,) = parse_sql(sql)
    assert raw.stmt is not None
    return raw.stmt


def test_finds_every_node_of_the_type_parents_first_and_inside_a_match() -> None:
    node = _statement("SELECT lower(upper(x)) FROM a JOIN b.c ON true WHERE y IN (SELECT 1 FROM d)")
    calls = [call.funcname for call in nodes_of(node, ast.FuncCall)]
    assert [names[-1].sval for names in calls if names] == ["lower", "upper"]
    tables = sorted(f"{rv.schemaname or ''}.{rv.relname}" for rv in nodes_of(node, ast.RangeVar))
    assert tables == [".a", ".d", "b.c"]


def test_walks_a_list_or_tuple_of_nodes_and_the_node_itself() -> None:
    statements = [_statement("SELECT 1 FROM a"), _statement("DELETE FROM b")]
    assert [rv.relname for rv in nodes_of(statements, ast.RangeVar)] == ["a", "b"]
    assert [rv.relname for rv in nodes_of(tuple(statements), ast.RangeVar)] == ["a", "b"]
    only = _statement("SELECT 1")
    assert list(nodes_of(only, ast.SelectStmt)) == [only]
    assert list(nodes_of("not a node", ast.RangeVar)) == []
