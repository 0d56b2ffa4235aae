"""validate-in-same-transaction: VALIDATE in the transaction of its ADD."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    cmd = site.node
    if (
        isinstance(cmd, ast.AlterTableCmd)
        and cmd.subtype == enums.AlterTableType.AT_ValidateConstraint
        and (site.relation, cmd.name) in facts.added_not_valid
        and not facts.no_transaction
    ):
        yield Hit(
            f"VALIDATE CONSTRAINT {cmd.name} on {site.relation} in the transaction that "
            "added it NOT VALID",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="validate-in-same-transaction",
    order=100,
    severity="error",
    summary="VALIDATE in the transaction of its ADD",
    why=(
        "the ADD ... NOT VALID earlier in this transaction still holds its lock (ACCESS "
        "EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE for a FOREIGN KEY) until COMMIT: the "
        "VALIDATE scan runs under it, exactly what NOT VALID was meant to avoid"
    ),
    fix=(
        "VALIDATE CONSTRAINT in a later migration (its own transaction: SHARE UPDATE "
        "EXCLUSIVE only, reads and writes go on)"
    ),
    fails=(
        (
            "ALTER TABLE trading.fills ADD CONSTRAINT fills_price_positive CHECK (price > 0) "
            "NOT VALID;\n"
            "ALTER TABLE trading.fills VALIDATE CONSTRAINT fills_price_positive;"
        ),
    ),
    passes=("ALTER TABLE trading.fills VALIDATE CONSTRAINT fills_price_positive;",),
    sites=frozenset({"alter_cmd"}),
    check=check,
)
