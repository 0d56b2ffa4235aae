"""drop-table: DROP TABLE/VIEW."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

OT = enums.ObjectType


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if not isinstance(node, ast.DropStmt):
        return
    kind = node.removeType
    if kind in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW) and site.existing:
        what = "table" if kind == OT.OBJECT_TABLE else "view"
        yield Hit(f"DROP {what.upper()} {site.relation}", site.relation)
    elif kind == OT.OBJECT_SCHEMA:
        schema = site.name
        dropped = [r for r in facts.catalog.relations if r.startswith(f"{schema}.")]
        if any(not facts.new(r) for r in dropped) or schema in facts.catalog.schemas:
            yield Hit(f"DROP SCHEMA {schema} (with its {len(dropped)} relation(s))", None)


RULE = Rule(
    id="drop-table",
    order=130,
    severity="error",
    summary="DROP TABLE/VIEW",
    why=(
        "running services still use the relation (or the schema's relations): they fail once "
        "it is gone"
    ),
    fix=("stop using it in every service first, release, then drop it in a later migration"),
    fails=(
        "DROP TABLE trading.fills;",
        "DROP VIEW trading.open_orders;",
    ),
    passes=(
        (
            "CREATE TABLE trading.scratch (a int);\n"
            "REVOKE ALL ON trading.scratch FROM PUBLIC;\n"
            "DROP TABLE trading.scratch;"
        ),
    ),
    sites=frozenset({"drop_object"}),
    check=check,
)
