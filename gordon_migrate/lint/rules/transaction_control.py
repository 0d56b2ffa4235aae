"""transaction-control: BEGIN/COMMIT/ROLLBACK in a migration."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if isinstance(node, ast.TransactionStmt):
        kind = node.kind.name.removeprefix("TRANS_STMT_") if node.kind else "?"
        yield Hit(f"transaction control ({kind}) in a migration")


RULE = Rule(
    id="transaction-control",
    order=200,
    severity="error",
    summary="BEGIN/COMMIT/ROLLBACK in a migration",
    why=(
        "apply runs each migration in its own transaction with its history row: a COMMIT or "
        "ROLLBACK inside it breaks that atomicity"
    ),
    fix=(
        "remove it; a migration that must not run in a transaction starts with `-- no-transaction`"
    ),
    fails=(
        "COMMIT;",
        ("BEGIN;\nSELECT 1;\nCOMMIT;"),
    ),
    passes=("SELECT 1;",),
    sites=frozenset({"statement"}),
    check=check,
)
