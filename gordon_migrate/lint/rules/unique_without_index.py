"""unique-without-index: ADD UNIQUE/PRIMARY KEY not USING INDEX."""

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
        if con.contype in (CT.CONSTR_UNIQUE, CT.CONSTR_PRIMARY):
            yield Hit(
                f"ADD COLUMN {site.name} with an inline UNIQUE/PRIMARY KEY builds an index "
                "under ACCESS EXCLUSIVE",
                site.relation,
                scaled=True,
            )
    elif (
        con.contype in (CT.CONSTR_UNIQUE, CT.CONSTR_PRIMARY, CT.CONSTR_EXCLUSION)
        and not con.indexname
    ):
        yield Hit(
            f"ADD CONSTRAINT {site.name} {con.contype.name.removeprefix('CONSTR_')} on existing "
            f"table {site.relation} builds its index under ACCESS EXCLUSIVE",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="unique-without-index",
    order=110,
    severity="error",
    summary="ADD UNIQUE/PRIMARY KEY not USING INDEX",
    why=(
        "ADD UNIQUE/PRIMARY KEY builds its index under ACCESS EXCLUSIVE: reads and writes "
        "blocked for the whole build"
    ),
    fix=(
        "CREATE UNIQUE INDEX CONCURRENTLY in a `-- no-transaction` migration, then ADD "
        "CONSTRAINT ... UNIQUE USING INDEX (or PRIMARY KEY USING INDEX)"
    ),
    fails=("ALTER TABLE trading.fills ADD CONSTRAINT fills_ref_unique UNIQUE (venue_ref);",),
    passes=(
        (
            "ALTER TABLE trading.fills ADD CONSTRAINT fills_ref_unique UNIQUE USING INDEX "
            "fills_ref_idx;"
        ),
    ),
    sites=frozenset({"column_constraint", "add_constraint"}),
    check=check,
    measures="scan",
)
