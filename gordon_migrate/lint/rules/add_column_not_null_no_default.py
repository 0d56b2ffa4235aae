"""add-column-not-null-no-default: ADD COLUMN NOT NULL without DEFAULT."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.analyze import _strings
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

CT = enums.ConstrType


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    col = site.node
    if not (site.existing and isinstance(col, ast.ColumnDef)):
        return
    constraints = [c for c in col.constraints or () if isinstance(c, ast.Constraint)]
    default = next((c for c in constraints if c.contype == CT.CONSTR_DEFAULT), None)
    not_null = any(c.contype == CT.CONSTR_NOTNULL for c in constraints) or col.is_not_null
    stored = any(c.contype == CT.CONSTR_GENERATED and c.generated_kind == "s" for c in constraints)
    identity = any(c.contype == CT.CONSTR_IDENTITY for c in constraints)
    type_name = (_strings(col.typeName.names) if col.typeName else [""])[-1].lower()
    serial = type_name in {"serial", "bigserial", "smallserial", "serial4", "serial8"}
    if not_null and default is None and not stored and not identity and not serial:
        yield Hit(
            f"ADD COLUMN {site.name} NOT NULL without a DEFAULT on existing table {site.relation}",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="add-column-not-null-no-default",
    order=40,
    severity="error",
    summary="ADD COLUMN NOT NULL without DEFAULT",
    why=("existing rows have no value for the column: the statement fails on any non-empty table"),
    fix=(
        "add the column nullable (or with a constant DEFAULT), backfill in batches, then add "
        "CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, and SET NOT NULL"
    ),
    fails=("ALTER TABLE trading.fills ADD COLUMN venue_fee numeric NOT NULL;",),
    passes=(
        "ALTER TABLE trading.fills ADD COLUMN venue_fee numeric NOT NULL DEFAULT 0;",
        "ALTER TABLE trading.fills ADD COLUMN venue_fee numeric;",
    ),
    sites=frozenset({"add_column"}),
    check=check,
)
