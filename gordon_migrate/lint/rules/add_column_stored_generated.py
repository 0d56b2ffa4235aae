"""add-column-stored-generated: ADD COLUMN GENERATED ... STORED."""

from __future__ import annotations

from collections.abc import Iterator

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    if site.existing and "add_column_stored" in site.forms:
        yield Hit(
            f"ADD COLUMN {site.name} GENERATED ... STORED rewrites {site.relation}",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="add-column-stored-generated",
    order=60,
    severity="error",
    summary="ADD COLUMN GENERATED ... STORED",
    why=(
        "a STORED generated column is computed for every existing row: ACCESS EXCLUSIVE and "
        "a full table rewrite"
    ),
    fix=(
        "add a plain nullable column, fill it from a trigger plus a batched backfill, or "
        "compute it in a view"
    ),
    fails=(
        (
            "ALTER TABLE trading.fills ADD COLUMN notional numeric GENERATED ALWAYS AS "
            "(price * quantity) STORED;"
        ),
    ),
    passes=("ALTER TABLE trading.fills ADD COLUMN notional numeric;",),
    sites=frozenset({"add_column"}),
    check=check,
    measures="rewrite",
)
