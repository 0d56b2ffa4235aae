"""set-not-null-without-check: SET NOT NULL without a validated CHECK."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    cmd = site.node
    if not (
        isinstance(cmd, ast.AlterTableCmd)
        and cmd.subtype == enums.AlterTableType.AT_SetNotNull
        and site.existing
        and site.relation is not None
    ):
        return
    if not facts.catalog.not_null_checks.get((site.relation, cmd.name or "")):
        yield Hit(
            f"SET NOT NULL on {site.relation}.{cmd.name} without a validated "
            "CHECK (... IS NOT NULL)",
            site.relation,
            scaled=True,
        )


RULE = Rule(
    id="set-not-null-without-check",
    order=80,
    severity="error",
    summary="SET NOT NULL without a validated CHECK",
    why=(
        "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE (reads and writes "
        "blocked) unless a validated CHECK (col IS NOT NULL) already proves it"
    ),
    fix=(
        "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; in a later migration VALIDATE "
        "CONSTRAINT c; then SET NOT NULL (no scan) and DROP CONSTRAINT c"
    ),
    fails=("ALTER TABLE trading.fills ALTER COLUMN venue SET NOT NULL;",),
    passes=(
        (
            "CREATE TABLE trading.notes (body text);\n"
            "REVOKE ALL ON trading.notes FROM PUBLIC;\n"
            "ALTER TABLE trading.notes ALTER COLUMN body SET NOT NULL;"
        ),
    ),
    sites=frozenset({"alter_cmd"}),
    check=check,
    measures="scan",
)
