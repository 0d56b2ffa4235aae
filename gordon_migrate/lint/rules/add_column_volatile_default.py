"""add-column-volatile-default: ADD COLUMN with a volatile default."""

from __future__ import annotations

from collections.abc import Iterator

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    # The walk planned the rewrite (add_column_volatile): a volatile default, identity or serial.
    if site.existing and "add_column_volatile" in site.forms:
        unknown = f" (volatility unknown: {', '.join(site.unknown)})" if site.unknown else ""
        yield Hit(
            f"ADD COLUMN {site.name} with a volatile default rewrites {site.relation}{unknown}",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="add-column-volatile-default",
    order=50,
    severity="error",
    summary="ADD COLUMN with a volatile default",
    why=(
        "a volatile default is computed for every existing row: ACCESS EXCLUSIVE and a full "
        "table rewrite (reads and writes blocked for as long as the rewrite takes)"
    ),
    fix=(
        "add the column without default (or with a constant one), SET DEFAULT afterwards, "
        "and backfill existing rows in batches"
    ),
    fails=(
        "ALTER TABLE trading.fills ADD COLUMN trace uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE trading.fills ADD COLUMN seq bigserial;",
    ),
    passes=(
        "ALTER TABLE trading.fills ADD COLUMN seen_at timestamptz DEFAULT now();",
        "ALTER TABLE trading.fills ADD COLUMN fee numeric DEFAULT 0;",
    ),
    sites=frozenset({"add_column"}),
    check=check,
    measures="rewrite",
)
