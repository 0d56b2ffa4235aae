"""grant-to-public: GRANT to PUBLIC."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    default = isinstance(node, ast.AlterDefaultPrivilegesStmt)
    grant = node.action if isinstance(node, ast.AlterDefaultPrivilegesStmt) else node
    if not isinstance(grant, ast.GrantStmt):
        return
    public = any(
        isinstance(g, ast.RoleSpec) and g.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC
        for g in grant.grantees or ()
    )
    if grant.is_grant and public:
        what = "default privileges" if default else "privileges"
        yield Hit(f"GRANT of {what} to PUBLIC")


RULE = Rule(
    id="grant-to-public",
    order=280,
    severity="error",
    summary="GRANT to PUBLIC",
    why=("PUBLIC is every role, present and future: the grant matrix forbids it"),
    fix=("grant to the runtime role that needs it instead"),
    fails=(
        "GRANT SELECT ON trading.fills TO PUBLIC;",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA trading GRANT SELECT ON TABLES TO PUBLIC;",
    ),
    passes=(
        "GRANT SELECT ON trading.fills TO gordon_api;",
        "REVOKE ALL ON trading.fills FROM PUBLIC;",
    ),
    sites=frozenset({"statement"}),
    check=check,
)
