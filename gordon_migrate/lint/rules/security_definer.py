"""security-definer: a SECURITY DEFINER function not written the documented-safe way."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError

from gordon_migrate.lint import plpgsql
from gordon_migrate.lint.analyze import (
    _qualified,
    _strings,
    function_body,
    function_language,
)
from gordon_migrate.lint.nodes import nodes_of
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

# Schemas any role may be able to create objects in: never on a definer function's path.
_UNTRUSTED = frozenset({"public", "$user"})

# The PostgreSQL manual, "Writing SECURITY DEFINER Functions Safely" (CREATE FUNCTION): a
# search_path of trusted schemas with pg_temp written last (else the temporary schema, which
# any caller can write, is searched first for relations), EXECUTE revoked from PUBLIC (a new
# function is executable by PUBLIC) and granted to the roles that need it, in one transaction.


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if isinstance(node, ast.CreateFunctionStmt):
        options = node.options or ()
        if not any(_definer(o) for o in options):
            return
        kind = "procedure" if node.is_procedure else "function"
        name = _qualified(_strings(node.funcname))
        unqualified = _unqualified(node)
    elif isinstance(node, ast.AlterFunctionStmt):
        options = node.actions or ()
        if not any(_definer(a) for a in options):
            return
        kind = "procedure" if node.objtype == enums.ObjectType.OBJECT_PROCEDURE else "function"
        name = _qualified(_strings(node.func.objname if node.func else ()))
        unqualified = None  # its body is not in this statement
    else:
        return
    missing = _path_missing(_search_path(options), unqualified)
    # An ALTERed function's privileges were set when it was created: not known here, so the
    # REVOKE is asked for as for a new one.
    missing += _privileges_missing(
        name,
        facts.routine_privileges,
        facts.catalog.public_executes_new_functions or isinstance(node, ast.AlterFunctionStmt),
    )
    if facts.no_transaction and facts.catalog.public_executes_new_functions:
        # The manual's reason for one transaction: no one can call it before the REVOKE.
        missing.append(
            "a `-- no-transaction` migration commits it before the REVOKE: PUBLIC can call it "
            "in between; create it in a transactional migration"
        )
    if missing:
        yield Hit(f"SECURITY DEFINER {kind} {name}: {'; '.join(missing)}")


def _definer(option: object) -> bool:
    return (
        isinstance(option, ast.DefElem)
        and option.defname == "security"
        and isinstance(option.arg, ast.Boolean)
        and bool(option.arg.boolval)
    )


def _search_path(options: Sequence[object]) -> list[str] | None:
    """The schemas of the function's ``SET search_path = ...``; None when it pins none."""
    for option in options:
        if not (isinstance(option, ast.DefElem) and option.defname == "set"):
            continue
        stmt = option.arg
        if (
            isinstance(stmt, ast.VariableSetStmt)
            and stmt.name == "search_path"
            and stmt.kind == enums.VariableSetKind.VAR_SET_VALUE
        ):
            path: list[str] = []
            for arg in stmt.args or ():
                if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
                    path.extend(p.strip().strip('"') for p in (arg.val.sval or "").split(","))
            return [p for p in path if p]
    return None


def _unqualified(node: ast.CreateFunctionStmt) -> list[str] | None:
    """The relations the body names without a schema; None when lint cannot read the body."""
    if node.sql_body is not None:
        return _names_unqualified([node.sql_body])
    body = function_body(node)
    if body is None:
        return None
    language = function_language(node)
    if language == "sql":
        try:
            return _names_unqualified([raw.stmt for raw in parse_sql(body)])
        except ParseError:
            return None
    if language == "plpgsql":
        parsed = plpgsql.parse(body)
        if parsed is None or parsed.opaque:
            return None
        return _names_unqualified(list(parsed.statements))
    return None


def _names_unqualified(nodes: list[object]) -> list[str]:
    ctes = {c.ctename for c in nodes_of(nodes, ast.CommonTableExpr) if c.ctename}
    out: list[str] = []
    for rv in nodes_of(nodes, ast.RangeVar):
        if not rv.schemaname and rv.relname and rv.relname not in ctes and rv.relname not in out:
            out.append(rv.relname)
    return out


def _path_missing(path: list[str] | None, unqualified: list[str] | None) -> list[str]:
    if path is None:
        return ["no SET search_path: pin it, e.g. SET search_path = pg_catalog, pg_temp"]
    shown = ", ".join(path) or "''"
    untrusted = [p for p in path if p.lower() in _UNTRUSTED]
    if untrusted:
        return [
            f"search_path ({shown}) includes {', '.join(untrusted)}, where other roles may "
            "create objects that shadow the ones it means: list only trusted schemas"
        ]
    if path and path[-1].lower() == "pg_temp":
        return []
    if "pg_temp" in (p.lower() for p in path):
        return [f"search_path ({shown}) must end with pg_temp, not list it earlier"]
    if unqualified is None:
        return [
            f"search_path ({shown}) does not end with pg_temp and lint cannot read the body to "
            "check that every relation is schema-qualified: end it with pg_temp"
        ]
    if unqualified:
        return [
            f"the body names {', '.join(unqualified)} without a schema and search_path "
            f"({shown}) does not end with pg_temp, so a caller's temporary table of that name "
            "is found first: schema-qualify them"
        ]
    return []


def _privileges_missing(
    name: str, privileges: Sequence[tuple[str, bool, str]], public: bool
) -> list[str]:
    """``public``: whether a new function is PUBLIC's (PostgreSQL's default, unless the
    bundle's default privileges took it away)."""
    roles: set[str] = set()
    for function, granted, grantee in privileges:
        if function != name:
            continue
        if grantee == "PUBLIC":
            public = granted
        elif granted:
            roles.add(grantee)
        else:
            roles.discard(grantee)
    missing: list[str] = []
    if public:
        missing.append(
            f"EXECUTE is left to PUBLIC (a new function's default): REVOKE EXECUTE ON "
            f"FUNCTION {name} FROM PUBLIC in this migration"
        )
    if not roles:
        missing.append(f"GRANT EXECUTE ON FUNCTION {name} TO the role that calls it")
    return missing


RULE = Rule(
    id="security-definer",
    order=250,
    severity="error",
    summary="SECURITY DEFINER function not hardened",
    why=(
        "a SECURITY DEFINER function runs with its owner's (the migrator's) privileges: whoever "
        "may call it, and whatever its names resolve to on the caller's search_path, acts as "
        "the migrator"
    ),
    fix=(
        "prefer SECURITY INVOKER; else the manual's pattern: SET search_path = pg_catalog, "
        "pg_temp (trusted schemas, pg_temp last; or pg_catalog alone with every relation "
        "schema-qualified), then REVOKE EXECUTE ... FROM PUBLIC and GRANT EXECUTE ... TO the "
        "one role that calls it, in the same migration"
    ),
    fails=(
        # no pinned search_path
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SECURITY DEFINER "
            "AS $$ UPDATE trading.risk_state SET mode = 'halted' WHERE singleton $$;\n"
            "REVOKE EXECUTE ON FUNCTION trading.halt() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt() TO gordon_risk;"
        ),
        # EXECUTE left to PUBLIC
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SECURITY DEFINER "
            "SET search_path = pg_catalog "
            "AS $$ UPDATE trading.risk_state SET mode = 'halted' WHERE singleton $$;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt() TO gordon_risk;"
        ),
        # pg_catalog alone, and an unqualified relation: pg_temp is searched first
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SECURITY DEFINER "
            "SET search_path = pg_catalog "
            "AS $$ UPDATE risk_state SET mode = 'halted' WHERE singleton $$;\n"
            "REVOKE EXECUTE ON FUNCTION trading.halt() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt() TO gordon_risk;"
        ),
        # public on the path
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SECURITY DEFINER "
            "SET search_path = public, pg_temp "
            "AS $$ UPDATE trading.risk_state SET mode = 'halted' WHERE singleton $$;\n"
            "REVOKE ALL ON FUNCTION trading.halt() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt() TO gordon_risk;"
        ),
        # revoked, then given back to PUBLIC
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SECURITY DEFINER "
            "SET search_path = pg_catalog, pg_temp "
            "AS $$ UPDATE trading.risk_state SET mode = 'halted' WHERE singleton $$;\n"
            "REVOKE EXECUTE ON FUNCTION trading.halt() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt() TO PUBLIC;"
        ),
        # PL/pgSQL running a computed string: its names cannot be checked
        (
            "CREATE FUNCTION trading.halt(t text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER "
            "SET search_path = pg_catalog "
            "AS $$ BEGIN EXECUTE 'UPDATE ' || t || ' SET mode = ''halted'''; END $$;\n"
            "REVOKE EXECUTE ON FUNCTION trading.halt(text) FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt(text) TO gordon_risk;"
        ),
        "ALTER FUNCTION trading.halt() SECURITY DEFINER;",
        # hardened, but each statement commits alone
        (
            "-- no-transaction\n"
            "CREATE OR REPLACE FUNCTION trading.halt() RETURNS void LANGUAGE sql "
            "SECURITY DEFINER SET search_path = pg_catalog "
            "AS $$ UPDATE trading.risk_state SET mode = 'halted' WHERE singleton $$;\n"
            "REVOKE EXECUTE ON FUNCTION trading.halt() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt() TO gordon_risk;"
        ),
    ),
    passes=(
        # the manual's pattern: pg_catalog alone, every relation qualified
        (
            "CREATE FUNCTION trading.halt() RETURNS void LANGUAGE sql SECURITY DEFINER "
            "SET search_path = pg_catalog "
            "AS $$ UPDATE trading.risk_state SET mode = 'halted' WHERE singleton $$;\n"
            "REVOKE EXECUTE ON FUNCTION trading.halt() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.halt() TO gordon_risk;"
        ),
        # trusted schemas with pg_temp last: unqualified names are safe
        (
            "CREATE FUNCTION trading.is_halted() RETURNS boolean LANGUAGE plpgsql "
            "SECURITY DEFINER SET search_path = trading, pg_temp "
            "AS $$ BEGIN RETURN EXISTS (SELECT FROM risk_state WHERE mode = 'halted'); END $$;\n"
            "REVOKE ALL ON FUNCTION trading.is_halted() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION trading.is_halted() TO gordon_api;"
        ),
        # SQL-standard body, schema-qualified
        (
            "CREATE PROCEDURE trading.halt() LANGUAGE sql SECURITY DEFINER "
            "SET search_path = pg_catalog "
            "BEGIN ATOMIC UPDATE trading.risk_state SET mode = 'halted' WHERE singleton; END;\n"
            "REVOKE EXECUTE ON PROCEDURE trading.halt() FROM PUBLIC;\n"
            "GRANT EXECUTE ON PROCEDURE trading.halt() TO gordon_risk;"
        ),
        (
            "CREATE FUNCTION trading.one() RETURNS int LANGUAGE sql SET search_path = "
            "pg_catalog AS $$ SELECT 1 $$;"
        ),
    ),
    sites=frozenset({"file_statement"}),
    check=check,
)
