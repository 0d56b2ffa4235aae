"""no-transaction-not-rerunnable: no-transaction step not safe to re-run."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    if (
        facts.no_transaction
        and site.count > 1
        and isinstance(site.node, ast.Node)
        and not _rerunnable(site.node)
    ):
        yield Hit(
            "statement of a no-transaction migration of several statements is "
            "not safe to re-run (no IF [NOT] EXISTS / OR REPLACE)"
        )


def _rerunnable(node: ast.Node) -> bool:
    if isinstance(
        node,
        ast.GrantStmt | ast.CommentStmt | ast.VacuumStmt | ast.ReindexStmt | ast.SelectStmt,
    ):
        return True
    if isinstance(node, ast.AlterTableStmt):
        # ADD COLUMN IF NOT EXISTS / DROP ... IF EXISTS, and VALIDATE (a no-op once valid).
        return all(
            isinstance(c, ast.AlterTableCmd)
            and (bool(c.missing_ok) or c.subtype == enums.AlterTableType.AT_ValidateConstraint)
            for c in node.cmds or ()
        ) or bool(node.missing_ok)
    return any(
        bool(getattr(node, flag, False)) for flag in ("if_not_exists", "missing_ok", "replace")
    )


RULE = Rule(
    id="no-transaction-not-rerunnable",
    order=30,
    severity="error",
    summary="no-transaction step not safe to re-run",
    why=(
        "a no-transaction migration that stops half-way stays dirty; after it is undone or "
        "finished by hand, re-running it must not fail on what already took effect"
    ),
    fix=(
        "write every statement with IF [NOT] EXISTS (or CREATE OR REPLACE), or split the migration"
    ),
    fails=(
        (
            "-- no-transaction\n"
            "CREATE INDEX CONCURRENTLY fills_venue ON trading.fills (venue);\n"
            "CREATE INDEX CONCURRENTLY fills_side ON trading.fills (side);"
        ),
    ),
    passes=(
        (
            "-- no-transaction\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS fills_venue ON trading.fills (venue);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS fills_side ON trading.fills (side);"
        ),
    ),
    sites=frozenset({"file_statement"}),
    check=check,
)
