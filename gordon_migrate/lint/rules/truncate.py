"""truncate: TRUNCATE of an existing table (and of what its CASCADE reaches)."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if not isinstance(node, ast.TruncateStmt):
        return
    named = [facts.relation(rv) for rv in node.relations or () if isinstance(rv, ast.RangeVar)]
    cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
    reached = facts.catalog.referencing(named) if cascade else []
    emptied = [r for r in named + reached if not facts.new(r)]
    if not emptied:
        return
    also = ""
    if cascade:
        others = [r for r in reached if not facts.new(r)]
        also = (
            f"; CASCADE also empties {', '.join(others)}"
            if others
            else "; CASCADE also empties every table whose foreign keys reach it (the bundle "
            "shows none)"
        )
    # Not scaled: an empty result is what the services see whatever the table's size, and
    # the lock is short; the hazard is the rows, not the lock.
    yield Hit(f"TRUNCATE empties {', '.join(r for r in named if not facts.new(r))}{also}")


RULE = Rule(
    id="truncate",
    order=135,
    severity="error",
    summary="TRUNCATE of an existing table",
    why=(
        "every row the services wrote is gone once it commits (a rollback of the deploy does "
        "not bring them back), CASCADE empties every table whose foreign keys reach it too, "
        "and ACCESS EXCLUSIVE blocks even the readers meanwhile"
    ),
    fix=(
        "delete only the rows that must go, in batches, from a job; if the data really is "
        "disposable, waive it on the statement saying why (`-- gordon:allow truncate REASON`)"
    ),
    fails=(
        "TRUNCATE market_data.book_tops;",
        "TRUNCATE TABLE trading.fills RESTART IDENTITY CASCADE;",
        (
            "CREATE TABLE trading.scratch (a int);\n"
            "REVOKE ALL ON trading.scratch FROM PUBLIC;\n"
            "TRUNCATE trading.scratch, trading.fills;"
        ),
    ),
    passes=(
        # new in this migration: nothing of the services' is in it yet
        (
            "CREATE TABLE trading.scratch (a int);\n"
            "REVOKE ALL ON trading.scratch FROM PUBLIC;\n"
            "TRUNCATE trading.scratch;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
