"""constraint-without-not-valid: ADD CHECK/FOREIGN KEY without NOT VALID."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

CT = enums.ConstrType


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    con = site.node
    if not (site.existing and isinstance(con, ast.Constraint)):
        return
    if site.kind == "column_constraint":
        if con.contype == CT.CONSTR_CHECK:
            yield Hit(
                f"ADD COLUMN {site.name} with an inline CHECK validates every row",
                site.relation,
                scaled=True,
            )
        elif con.contype == CT.CONSTR_FOREIGN:
            yield Hit(
                f"ADD COLUMN {site.name} with an inline REFERENCES "
                f"{facts.relation(con.pktable)} validates every row",
                site.relation,
                scaled=True,
            )
        return
    if con.skip_validation:
        return
    if con.contype == CT.CONSTR_CHECK:
        yield Hit(
            f"ADD CONSTRAINT {site.name} CHECK on existing table {site.relation} without NOT VALID",
            site.relation,
            scaled=True,
        )
    elif con.contype == CT.CONSTR_FOREIGN:
        yield Hit(
            f"ADD CONSTRAINT {site.name} FOREIGN KEY on existing table {site.relation} "
            f"(references {facts.relation(con.pktable)}) without NOT VALID",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="constraint-without-not-valid",
    order=90,
    severity="error",
    summary="ADD CHECK/FOREIGN KEY without NOT VALID",
    why=(
        "adding a CHECK (ACCESS EXCLUSIVE) or FOREIGN KEY (SHARE ROW EXCLUSIVE on both "
        "tables) validates every existing row while holding the lock"
    ),
    fix=(
        "ADD the constraint ... NOT VALID (brief lock, new rows checked), then VALIDATE "
        "CONSTRAINT in a separate step (SHARE UPDATE EXCLUSIVE: reads and writes go on)"
    ),
    fails=("ALTER TABLE trading.fills ADD CONSTRAINT fills_price_positive CHECK (price > 0);",),
    passes=(
        (
            "ALTER TABLE trading.fills ADD CONSTRAINT fills_price_positive CHECK (price > 0) "
            "NOT VALID;"
        ),
    ),
    sites=frozenset({"column_constraint", "add_constraint"}),
    check=check,
    measures="scan",
)
