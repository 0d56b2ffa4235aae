"""concurrently-in-transaction: CONCURRENTLY/VACUUM in a transaction."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    if facts.no_transaction:
        return
    node = site.node
    if site.kind == "drop_object":
        if (
            isinstance(node, ast.DropStmt)
            and node.removeType == enums.ObjectType.OBJECT_INDEX
            and node.concurrent
        ):
            yield Hit(
                f"DROP INDEX CONCURRENTLY {site.name} in a transactional migration", site.relation
            )
    elif isinstance(node, ast.IndexStmt) and node.concurrent:
        relation = facts.relation(node.relation)
        yield Hit(f"CREATE INDEX CONCURRENTLY on {relation} in a transactional migration", relation)
    elif isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd:
        yield Hit("VACUUM in a transactional migration (it fails)")
    elif isinstance(node, ast.ReindexStmt) and facts.reindex_concurrently(node):
        relation = facts.reindex_relation(node)
        yield Hit(f"REINDEX CONCURRENTLY ({relation}) in a transactional migration", relation)
    elif isinstance(node, ast.ReindexStmt) and node.kind in _OF_MANY:
        what = " ".join(filter(None, ("REINDEX", _OF_MANY[node.kind], node.name)))
        yield Hit(f"{what} in a transactional migration (it fails)")


# Forms that rebuild many tables' indexes, each in a transaction of its own: never in a block.
_OF_MANY = {
    enums.ReindexObjectType.REINDEX_OBJECT_SCHEMA: "SCHEMA",
    enums.ReindexObjectType.REINDEX_OBJECT_DATABASE: "DATABASE",
    enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM: "SYSTEM",
}


RULE = Rule(
    id="concurrently-in-transaction",
    order=20,
    severity="error",
    summary="CONCURRENTLY/VACUUM in a transaction",
    why=(
        "CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, REINDEX SCHEMA/DATABASE/SYSTEM and "
        "VACUUM cannot run inside a transaction block: apply would fail on this statement"
    ),
    fix=("put the statement in its own migration whose first line is `-- no-transaction`"),
    fails=(
        "CREATE INDEX CONCURRENTLY fills_venue ON trading.fills (venue);",
        "VACUUM trading.fills;",
        "REINDEX SCHEMA market_data;",
    ),
    passes=(
        (
            "-- no-transaction\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS fills_venue ON trading.fills (venue);"
        ),
    ),
    sites=frozenset({"statement", "drop_object"}),
    check=check,
)
