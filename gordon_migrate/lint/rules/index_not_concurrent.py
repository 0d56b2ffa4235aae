"""index-not-concurrent: CREATE/DROP INDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if site.kind == "statement" and isinstance(node, ast.IndexStmt) and not node.concurrent:
        relation = facts.relation(node.relation)
        if not facts.new(relation):
            yield Hit(
                f"CREATE INDEX {node.idxname or ''} on existing table {relation} without "
                "CONCURRENTLY",
                relation,
                scaled=True,
            )
    elif (
        site.kind == "drop_object"
        and isinstance(node, ast.DropStmt)
        and node.removeType == enums.ObjectType.OBJECT_INDEX
        and not node.concurrent
        and site.existing
    ):
        yield Hit(
            f"DROP INDEX {site.name} (on {site.relation}) without CONCURRENTLY",
            site.relation,
            measures="lock",
            scaled=True,
        )


RULE = Rule(
    id="index-not-concurrent",
    order=10,
    severity="error",
    summary="CREATE/DROP INDEX without CONCURRENTLY",
    why=(
        "CREATE INDEX holds SHARE on the table for the whole build, blocking every INSERT, "
        "UPDATE and DELETE for time proportional to the table's size; DROP INDEX takes "
        "ACCESS EXCLUSIVE (blocks reads too) and queues behind any long transaction"
    ),
    fix=(
        "use CREATE INDEX CONCURRENTLY IF NOT EXISTS / DROP INDEX CONCURRENTLY IF EXISTS in "
        "its own `-- no-transaction` migration (a failed concurrent build leaves an INVALID "
        "index: drop it before re-running)"
    ),
    fails=(
        "CREATE INDEX fills_venue ON trading.fills (venue);",
        "DROP INDEX trading.fills_venue;",
    ),
    passes=(
        (
            "-- no-transaction\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS fills_venue ON trading.fills (venue);"
        ),
        (
            "CREATE TABLE trading.tags (id bigint);\n"
            "CREATE INDEX tags_id ON trading.tags (id);\n"
            "REVOKE ALL ON trading.tags FROM PUBLIC;"
        ),
    ),
    sites=frozenset({"statement", "drop_object"}),
    check=check,
    measures="scan",
)
