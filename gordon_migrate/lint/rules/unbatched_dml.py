"""unbatched-dml: UPDATE/DELETE without WHERE."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site
from gordon_migrate.lint.rules.backfill_under_lock import held_lock


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if not isinstance(node, ast.UpdateStmt | ast.DeleteStmt) or node.whereClause is not None:
        return
    relation = facts.relation(node.relation)
    # Under an earlier blocking lock of the transaction, backfill-under-lock reports it (the
    # held lock is the worse hazard, and batching alone does not release it).
    if not facts.new(relation) and held_lock(node, facts) is None:
        form = "update" if isinstance(node, ast.UpdateStmt) else "delete"
        yield Hit(f"{form.upper()} of every row of {relation} (no WHERE)", relation, scaled=True)


RULE = Rule(
    id="unbatched-dml",
    order=160,
    severity="error",
    summary="UPDATE/DELETE without WHERE",
    why=(
        "one statement rewrites or deletes every row: row locks on the whole table until "
        "commit, WAL and bloat proportional to its size, and a long transaction"
    ),
    fix=(
        "backfill in batches of a few thousand keys per statement (outside the deploy gate, "
        "or in a `-- no-transaction` migration), or add a WHERE that bounds the rows"
    ),
    fails=(
        "UPDATE trading.fills SET venue = lower(venue);",
        "DELETE FROM trading.fills;",
    ),
    passes=("UPDATE trading.fills SET venue = lower(venue) WHERE id < 1000;",),
    sites=frozenset({"statement"}),
    check=check,
)
