"""View definitions as PostgreSQL 16+ prints them, whatever the server.

Up to PostgreSQL 15, ``pg_get_viewdef`` qualifies every column with its relation name even
when the query reads a single relation (``SELECT instruments.venue FROM
market_data.instruments``); since 16 the top query level of such a view is printed without
the qualifier (sub-queries keep theirs). Definitions from a server before 16 are rewritten to
the newer form, so one set of fixtures serves every supported version.
"""

from __future__ import annotations

import pglast
from pglast import ast, visitors


class _TopLevelRefs(visitors.Visitor):
    """Byte offsets of ``qualifier.column`` references of the top query level."""

    def __init__(self, qualifier: str) -> None:
        self.qualifier = qualifier
        self.offsets: list[int] = []

    def visit_ColumnRef(self, ancestors: visitors.Ancestor, node: ast.ColumnRef) -> None:
        selects = 0
        link: visitors.Ancestor | None = ancestors
        while link is not None and link.node is not None:
            if isinstance(link.node, ast.SelectStmt):
                selects += 1
            link = link.parent
        fields = node.fields or ()
        if (
            selects == 1
            and len(fields) == 2
            and isinstance(fields[0], ast.String)
            and fields[0].sval == self.qualifier
            and node.location is not None
        ):
            self.offsets.append(int(node.location))


def unqualify_single_relation(definition: str) -> str:
    """``definition`` without the relation qualifier of its top level, when that level reads
    exactly one relation (as PostgreSQL 16+ prints it); unchanged otherwise."""
    try:
        tree = pglast.parse_sql(definition)
    except pglast.parser.ParseError:
        return definition
    if len(tree) != 1 or not isinstance(tree[0].stmt, ast.SelectStmt):
        return definition
    select = tree[0].stmt
    from_clause = select.fromClause or ()
    if (
        select.op != 0
        or select.withClause is not None
        or len(from_clause) != 1
        or not isinstance(from_clause[0], ast.RangeVar)
    ):
        return definition
    relation = from_clause[0]
    qualifier = relation.alias.aliasname if relation.alias is not None else relation.relname
    refs = _TopLevelRefs(str(qualifier))
    refs(tree)
    text = definition
    for offset in sorted(refs.offsets, reverse=True):  # character offsets
        end = _qualifier_end(text, offset)
        if end is not None:
            text = text[:offset] + text[end + 1 :]
    return text


def _qualifier_end(text: str, start: int) -> int | None:
    """Index of the ``.`` that ends the identifier starting at ``start``."""
    i = start
    if text.startswith('"', i):
        i += 1
        while i < len(text):
            if text.startswith('""', i):
                i += 2
            elif text[i] == '"':
                i += 1
                break
            else:
                i += 1
    else:
        while i < len(text) and (text[i].isalnum() or text[i] in "_$"):
            i += 1
    return i if text.startswith(".", i) else None
