"""reindex-not-concurrent: REINDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if not isinstance(node, ast.ReindexStmt) or facts.reindex_concurrently(node):
        return
    relation = facts.reindex_relation(node)
    if not facts.new(relation):
        yield Hit(f"REINDEX of {relation}", relation, scaled=True)


RULE = Rule(
    id="reindex-not-concurrent",
    order=190,
    severity="error",
    summary="REINDEX without CONCURRENTLY",
    why=(
        "REINDEX holds SHARE on the table (writes blocked) and ACCESS EXCLUSIVE on each "
        "index (reads using it blocked) for the whole rebuild"
    ),
    fix=("REINDEX ... CONCURRENTLY in a `-- no-transaction` migration"),
    fails=("REINDEX TABLE trading.fills;",),
    passes=(("-- no-transaction\nREINDEX TABLE CONCURRENTLY trading.fills;"),),
    sites=frozenset({"statement"}),
    check=check,
    measures="lock",
)
