"""rename-table: RENAME TABLE/VIEW."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

OT = enums.ObjectType


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if (
        isinstance(node, ast.RenameStmt)
        and node.renameType in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW)
        and site.existing
        and site.relation is not None
    ):
        renamed = f"{site.relation.split('.', 1)[0]}.{node.newname}"
        yield Hit(f"RENAME {site.relation} TO {renamed}", site.relation)


RULE = Rule(
    id="rename-table",
    order=150,
    severity="error",
    summary="RENAME TABLE/VIEW",
    why=("running services still use the old name: they fail once it commits"),
    fix=("create the new name as a view of the old (or vice versa) during the switch"),
    fails=("ALTER TABLE trading.fills RENAME TO executions;",),
    passes=(
        (
            "CREATE TABLE trading.notes (a int);\n"
            "ALTER TABLE trading.notes RENAME TO remarks;\n"
            "REVOKE ALL ON trading.remarks FROM PUBLIC;"
        ),
    ),
    sites=frozenset({"rename"}),
    check=check,
)
