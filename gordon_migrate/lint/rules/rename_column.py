"""rename-column: RENAME COLUMN."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if (
        isinstance(node, ast.RenameStmt)
        and node.renameType == enums.ObjectType.OBJECT_COLUMN
        and site.existing
    ):
        yield Hit(f"RENAME COLUMN {site.relation}.{node.subname} TO {node.newname}", site.relation)


RULE = Rule(
    id="rename-column",
    order=140,
    severity="error",
    summary="RENAME COLUMN",
    why=("running services still use the old name: they fail once it commits"),
    fix=(
        "add the new column, dual-write, backfill, switch readers, drop the old one later "
        "(or keep a view with the old name)"
    ),
    fails=("ALTER TABLE trading.fills RENAME COLUMN venue TO exchange;",),
    passes=(
        (
            "CREATE TABLE trading.notes (a int);\n"
            "REVOKE ALL ON trading.notes FROM PUBLIC;\n"
            "ALTER TABLE trading.notes RENAME COLUMN a TO b;"
        ),
    ),
    sites=frozenset({"rename"}),
    check=check,
)
