"""drop-column: DROP COLUMN."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    cmd = site.node
    if (
        isinstance(cmd, ast.AlterTableCmd)
        and cmd.subtype == enums.AlterTableType.AT_DropColumn
        and site.existing
    ):
        yield Hit(f"DROP COLUMN {site.relation}.{cmd.name}", site.relation)


RULE = Rule(
    id="drop-column",
    order=120,
    severity="error",
    summary="DROP COLUMN",
    why=(
        "running services still select or insert the column: they fail from the moment the "
        "migration commits (deploys are not atomic with migrations)"
    ),
    fix=(
        "stop using the column in every service first, release, then drop it in a later "
        "migration (with a waiver naming the release)"
    ),
    fails=("ALTER TABLE trading.fills DROP COLUMN venue;",),
    passes=(
        (
            "CREATE TABLE trading.notes (a int, b int);\n"
            "REVOKE ALL ON trading.notes FROM PUBLIC;\n"
            "ALTER TABLE trading.notes DROP COLUMN b;"
        ),
    ),
    sites=frozenset({"alter_cmd"}),
    check=check,
)
