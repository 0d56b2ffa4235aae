"""lock-table: LOCK TABLE."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint import locks
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if not isinstance(node, ast.LockStmt):
        return
    mode = locks.MODES[(node.mode or 8) - 1]
    for rv in node.relations or ():
        if isinstance(rv, ast.RangeVar):
            relation = facts.relation(rv)
            yield Hit(f"LOCK TABLE {relation} IN {locks.label(mode)} MODE", relation)


RULE = Rule(
    id="lock-table",
    order=180,
    severity="error",
    summary="LOCK TABLE",
    why=("an explicit table lock held to the end of the migration blocks the services using it"),
    fix=("rely on the statements' own locks, each bounded by lock_timeout"),
    fails=("LOCK TABLE trading.fills IN SHARE MODE;",),
    passes=("SELECT 1;",),
    sites=frozenset({"statement"}),
    check=check,
    measures="lock",
)
