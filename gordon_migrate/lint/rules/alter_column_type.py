"""alter-column-type: ALTER COLUMN TYPE."""

from __future__ import annotations

from collections.abc import Iterator

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    # The walk planned a rewrite (not alter_column_type_coercible): the bundle's column type
    # does not prove the change binary-coercible.
    if site.existing and "alter_column_type" in site.forms:
        yield Hit(
            f"ALTER COLUMN {site.name} TYPE on existing table {site.relation}",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="alter-column-type",
    order=70,
    severity="error",
    summary="ALTER COLUMN TYPE",
    why=(
        "changing a column's type rewrites the table and rebuilds its indexes under ACCESS "
        "EXCLUSIVE (unless the change is binary-coercible, e.g. varchar(n) -> text)"
    ),
    fix=(
        "add a new column of the new type, dual-write and backfill in batches, then switch "
        "readers and drop the old one in a later release"
    ),
    fails=("ALTER TABLE trading.fills ALTER COLUMN venue TYPE varchar(10);",),
    passes=(
        (
            "CREATE TABLE trading.notes (body varchar(10));\n"
            "REVOKE ALL ON trading.notes FROM PUBLIC;\n"
            "ALTER TABLE trading.notes ALTER COLUMN body TYPE text;"
        ),
    ),
    sites=frozenset({"alter_cmd"}),
    check=check,
    measures="rewrite",
)
