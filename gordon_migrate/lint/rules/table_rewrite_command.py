"""table-rewrite-command: VACUUM FULL / CLUSTER / SET (UN)LOGGED."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if site.kind == "vacuum_relation":
        if "vacuum_full" in site.forms and site.existing:
            yield Hit(f"VACUUM FULL {site.relation}", site.relation, scaled=True)
    elif site.kind == "alter_cmd":
        if (
            isinstance(node, ast.AlterTableCmd)
            and node.subtype
            in (enums.AlterTableType.AT_SetLogged, enums.AlterTableType.AT_SetUnLogged)
            and site.existing
        ):
            yield Hit(
                f"ALTER TABLE {site.relation} SET (UN)LOGGED rewrites it",
                site.relation,
                scaled=True,
            )
    elif isinstance(node, ast.ClusterStmt):
        if node.relation is None:
            yield Hit("CLUSTER of every clustered table")
            return
        relation = facts.relation(node.relation)
        if not facts.new(relation):
            yield Hit(f"CLUSTER {relation}", relation, scaled=True)


RULE = Rule(
    id="table-rewrite-command",
    order=170,
    severity="error",
    summary="VACUUM FULL / CLUSTER / SET (UN)LOGGED",
    why=(
        "VACUUM FULL, CLUSTER and SET LOGGED/UNLOGGED rewrite the table under ACCESS "
        "EXCLUSIVE: reads and writes blocked for the whole rewrite"
    ),
    fix=("use pg_repack or a plain VACUUM; never in a migration"),
    fails=(
        ("-- no-transaction\nVACUUM FULL trading.fills;"),
        "CLUSTER trading.fills USING fills_pkey;",
        "ALTER TABLE trading.fills SET UNLOGGED;",
    ),
    passes=(("-- no-transaction\nVACUUM trading.fills;"),),
    sites=frozenset({"vacuum_relation", "statement", "alter_cmd"}),
    check=check,
    measures="rewrite",
)
