"""set-schema: ALTER ... SET SCHEMA of an existing table, view, sequence or function."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

OT = enums.ObjectType

_RELATIONS = {
    OT.OBJECT_TABLE: "TABLE",
    OT.OBJECT_VIEW: "VIEW",
    OT.OBJECT_MATVIEW: "MATERIALIZED VIEW",
    OT.OBJECT_SEQUENCE: "SEQUENCE",
    OT.OBJECT_FOREIGN_TABLE: "FOREIGN TABLE",
}
_ROUTINES = {
    OT.OBJECT_FUNCTION: "FUNCTION",
    OT.OBJECT_PROCEDURE: "PROCEDURE",
    OT.OBJECT_ROUTINE: "ROUTINE",
}


def _moved(node: ast.AlterObjectSchemaStmt, facts: Facts) -> tuple[str, str] | None:
    """(what, old name) of an existing object the statement moves; None for a new one."""
    if node.objectType in _RELATIONS and node.relation is not None:
        # As written: the walk has already moved it in the catalog, where an unqualified
        # name now resolves to its new schema.
        schema, relname = node.relation.schemaname, node.relation.relname or "?"
        new = any(
            r.split(".", 1)[1] == relname and schema in (None, r.split(".", 1)[0])
            for r in facts.created
        )
        return None if new else (_RELATIONS[node.objectType], f"{schema or 'public'}.{relname}")
    if node.objectType in _ROUTINES and isinstance(node.object, ast.ObjectWithArgs):
        parts = [s.sval or "" for s in node.object.objname or () if isinstance(s, ast.String)]
        name = ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}" if parts else "?"
        return None if name in facts.created_routines else (_ROUTINES[node.objectType], name)
    return None


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if not isinstance(node, ast.AlterObjectSchemaStmt):
        return
    moved = _moved(node, facts)
    if moved is None:
        return
    what, name = moved
    relation = name if node.objectType in _RELATIONS else None
    yield Hit(
        f"{what} {name} moves to schema {node.newschema}: every query naming "
        f"{name} fails once it commits",
        relation,
    )


RULE = Rule(
    id="set-schema",
    order=155,
    severity="error",
    summary="ALTER ... SET SCHEMA of an existing object",
    why=(
        "running services name the object by its schema (or find it on their search_path): "
        "they fail once it moves, like a rename"
    ),
    fix=(
        "create the new name (a view, or a wrapper function) in the new schema, move the "
        "services to it, release, then drop the old one in a later migration"
    ),
    fails=(
        "ALTER TABLE trading.venue_balances SET SCHEMA market_data;",
        "ALTER VIEW trading.open_orders SET SCHEMA reporting;",
        "ALTER SEQUENCE trading.risk_audit_seq SET SCHEMA risk;",
        "ALTER FUNCTION trading.open_notional(bigint) SET SCHEMA risk;",
    ),
    passes=(
        (
            "CREATE TABLE trading.scratch (a int);\n"
            "REVOKE ALL ON trading.scratch FROM PUBLIC;\n"
            "ALTER TABLE trading.scratch SET SCHEMA market_data;"
        ),
        (
            "CREATE FUNCTION trading.one() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1';\n"
            "REVOKE EXECUTE ON FUNCTION trading.one() FROM PUBLIC;\n"
            "ALTER FUNCTION trading.one() SET SCHEMA risk;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
