"""hidden-ddl: DDL lint cannot see, in a DO block or a function the migration calls.

Statically a warning (lint cannot see what it does). Given what a rehearsal measured of the
statement (``lint --database-url``, ``apply --dry-run``, ``apply``: a migration the pinned plan
lacks), the finding says what it locked, and is an error when that is a lock blocking reads or
writes (SHARE or stronger) on a relation that existed before the migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint import plpgsql
from gordon_migrate.lint.analyze import _qualified, _strings
from gordon_migrate.lint.nodes import nodes_of
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site, existing_locks
from gordon_migrate.rehearse.cost import blocking


def _judged(what: str, facts: Facts) -> Hit:
    """``what`` (the static words) with what rehearsal saw, when it measured the statement."""
    measured = facts.measured_here()
    if measured is None:
        return Hit(
            f"{what}: lint cannot see what it does; `gordon-migrate rehearse` shows its locks"
        )
    statement, earlier = measured
    existing = existing_locks(statement, earlier)
    blocks = [lock for lock in existing if blocking(lock.mode)]
    if blocks:
        shown = ", ".join(f"{lock.mode} on {lock.object}" for lock in blocks)
        return Hit(
            f"{what}: rehearsal saw it take {shown} (existing: blocks the services)",
            severity="error",
        )
    seen = ", ".join(f"{lock.mode} on {lock.object}" for lock in existing)
    return Hit(
        f"{what}: rehearsal saw it take "
        + (f"only {seen}" if seen else "no lock on an existing relation")
    )


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if isinstance(node, ast.DoStmt):
        body = _do_body(node)
        if body is None:
            return
        parsed = plpgsql.parse(body)
        hidden = parsed.ddl() if parsed is not None else ["a body pglast cannot parse"]
        if hidden:
            yield _judged(f"DDL in a DO block ({_shown(hidden)})", facts)
        return
    if not isinstance(node, ast.SelectStmt | ast.CallStmt):
        return
    for name in _called(node):
        if name in facts.catalog.opaque_functions:
            hidden = list(facts.catalog.opaque_functions[name])
            yield _judged(f"calls {name}(), whose body runs DDL ({_shown(hidden)})", facts)


def _shown(hidden: list[str]) -> str:
    first = " ".join(hidden[0].split())
    first = first if len(first) <= 60 else first[:57] + "..."
    return first + (f" and {len(hidden) - 1} more" if len(hidden) > 1 else "")


def _do_body(node: ast.DoStmt) -> str | None:
    for arg in node.args or ():
        if isinstance(arg, ast.DefElem) and arg.defname == "as" and isinstance(arg.arg, ast.String):
            return arg.arg.sval or ""
    return None


def _called(node: object) -> Iterator[str]:
    for call in nodes_of(node, ast.FuncCall):
        yield _qualified(_strings(call.funcname))


RULE = Rule(
    id="hidden-ddl",
    order=187,
    severity="warning",
    summary="DDL in a DO block or a called function",
    why=(
        "lint plans the locks of the statements it parses; DDL run by PL/pgSQL (a DO block, a "
        "function's EXECUTE of a computed string) takes locks no one reviewed. With a server "
        "(`lint --database-url`, `apply --dry-run`, `apply`) a migration the pinned plan lacks "
        "is rehearsed: the finding says what the statement locked, and is an error when that "
        "blocks the services (SHARE or stronger) on a relation that existed before"
    ),
    fix=(
        "write the DDL as plain statements; if it must be dynamic, run `gordon-migrate "
        "rehearse` and read the locks it took"
    ),
    fails=(
        ("DO $$ BEGIN EXECUTE 'ALTER TABLE trading.fills ADD COLUMN ' || 'x int'; END $$;"),
        ("DO $$ BEGIN ALTER TABLE trading.fills ADD COLUMN x int; END $$;"),
        (
            "CREATE FUNCTION trading.add_col(c text) RETURNS void LANGUAGE plpgsql "
            "SET search_path = pg_catalog AS $$ BEGIN "
            "EXECUTE format('ALTER TABLE trading.fills ADD COLUMN %I int', c); END $$;\n"
            "SELECT trading.add_col('x');"
        ),
    ),
    passes=(
        # a role is a cluster object (no table lock), and the literal shows the statement
        (
            "DO $$ BEGIN EXECUTE format('ALTER ROLE %I SET search_path = trading', "
            "'gordon_api'); END $$;"
        ),
        ("DO $$ BEGIN PERFORM pg_notify('gordon_fills', 'x'); END $$;"),
        # created, never called here
        (
            "CREATE FUNCTION trading.add_col(c text) RETURNS void LANGUAGE plpgsql "
            "SET search_path = pg_catalog AS $$ BEGIN "
            "EXECUTE format('ALTER TABLE trading.fills ADD COLUMN %I int', c); END $$;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
