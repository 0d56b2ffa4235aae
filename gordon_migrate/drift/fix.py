"""How to put things back: the SQL that restores the pinned state of one difference.

Only what can be restored without losing data gets a statement: privileges of every kind,
default privileges, role attributes, settings and memberships, database options and
settings, trigger and RLS switches, owners, and objects that hold no data (indexes,
policies, triggers, rules, event triggers, publications, functions, views, operators...).
Everything else — an unexpected table or column, a changed column type or function body —
gets ``None`` and a note saying what to do: the fix is the migration's own definition, or
a decision only a person can make.

Statements are written for the role that ran the migrations (or a superuser); placeholders
are resolved: ``<migrator>`` to that role, ``<this database>`` to the database's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from psycopg import sql

from gordon_migrate.drift import grants
from gordon_migrate.drift.kinds import (
    BUILT_IN,
    MEMBER_OF,
    RELATION_KINDS,
    GrantKey,
    drop_rank,
    kind_of,
    parse_default_privileges_key,
    parse_grant_key,
    parse_key,
    parse_member_key,
    parse_privileges,
    split_last,
)
from gordon_migrate.drift.model import BOOTSTRAP, DATABASE_OWNER, MIGRATOR, THIS_DATABASE, Line

_TRIGGER_STATE = {
    "enabled": "ENABLE TRIGGER",
    "disabled": "DISABLE TRIGGER",
    "replica only": "ENABLE REPLICA TRIGGER",
    "always": "ENABLE ALWAYS TRIGGER",
}
_EVENT_TRIGGER_STATE = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}
_ROLE_ATTRIBUTES = {
    "superuser": "SUPERUSER",
    "inherit": "INHERIT",
    "createrole": "CREATEROLE",
    "createdb": "CREATEDB",
    "login": "LOGIN",
    "replication": "REPLICATION",
    "bypassrls": "BYPASSRLS",
}
# Settings whose value is a list (GUC_LIST_QUOTE): each element is its own literal.
_LIST_SETTINGS = {
    "search_path",
    "temp_tablespaces",
    "session_preload_libraries",
    "local_preload_libraries",
    "shared_preload_libraries",
}

#: A fix whose statements must run outside a transaction (CREATE INDEX CONCURRENTLY...): the
#: script runs them after COMMIT, one at a time, in this order.
NO_TRANSACTION = "-- no transaction\n"

DESTRUCTIVE = "would destroy data: decide by hand (back it up, then drop it if it must go)"
MIGRATION = "restore the migration's definition (see the expected side) in a new migration"


@dataclass(frozen=True)
class Fix:
    """The statements restoring one object (``None``: not restorable here) and, when there
    are none or they do not restore everything, what a person has to do."""

    sql: str | None
    note: str | None = None


@dataclass(frozen=True)
class Context:
    """What placeholders stand for on this server, and what is pinned that a statement can
    take with it (a fix puts it back): see ``context``."""

    database: str
    migrator: str
    server_version: int
    #: (table, grantee) -> pinned (column, privileges) of that grantee on that table.
    column_grants: Mapping[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    #: table -> pinned (trigger, state) of its triggers that are not simply enabled.
    trigger_states: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: Objects whose owner the script changes back (``table trading.runs``): changing the
    #: owner rewrites their privileges, so every pinned privilege is granted again.
    reowned: frozenset[str] = frozenset()
    #: The bootstrap superuser's name: the script never changes what it holds.
    bootstrap: str = "postgres"
    #: The Gordon roles (the fixtures describe them): the script changes no other role.
    roles: frozenset[str] = frozenset()
    #: Indexes behind a pinned constraint (``trading.fills_pkey``): rebuilt in place.
    constraint_indexes: frozenset[str] = frozenset()


def context(
    database: str,
    migrator: str,
    server_version: int,
    expected: Iterable[Line],
    reowned: frozenset[str] = frozenset(),
    bootstrap: str = "postgres",
) -> Context:
    """The fix context of a check, indexing the pinned lines once."""
    column_grants: dict[tuple[str, str], list[tuple[str, str]]] = {}
    trigger_states: dict[str, list[tuple[str, str]]] = {}
    roles: set[str] = set()
    constraint_indexes: set[str] = set()
    for line in expected:
        kind, name = parse_key(line.object)
        grant = parse_grant_key(line.object)
        if kind == "role":
            roles.add(name)
        elif kind == "constraint" and line.facet == "definition":
            table, constraint = split_last(name)
            constraint_indexes.add(f"{split_last(table)[0]}.{constraint}")
        elif grant is not None and grant.kind == "column":
            table, column = split_last(grant.name)
            column_grants.setdefault((table, grant.grantee), []).append((column, line.value))
        elif kind == "trigger" and line.facet == "enabled" and line.value != "enabled":
            table, trigger = split_last(name)
            trigger_states.setdefault(table, []).append((trigger, line.value))
    return Context(
        database,
        migrator,
        server_version,
        column_grants,
        trigger_states,
        reowned,
        bootstrap,
        frozenset(roles),
        frozenset(constraint_indexes),
    )


def role_sql(name: str, ctx: Context) -> str:
    if name == "PUBLIC":
        return "PUBLIC"
    if name == MIGRATOR:
        name = ctx.migrator
    elif name == BOOTSTRAP:
        name = ctx.bootstrap
    elif name == DATABASE_OWNER:
        name = "pg_database_owner"
    return ident(name)


def ident(name: str) -> str:
    return sql.Identifier(name).as_string()


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _facets(lines: Iterable[Line] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines or ():
        out[line.facet] = line.value
    return out


def fix_for(
    obj: str, expected: Sequence[Line] | None, actual: Sequence[Line] | None, ctx: Context
) -> Fix:
    """The fix of one differing object (``expected``/``actual``: its lines, ``None`` when
    absent on that side)."""
    want, have = _facets(expected), _facets(actual)
    if obj.startswith(BUILT_IN):
        return _builtin(obj.removeprefix(BUILT_IN), want, have, ctx)
    if obj.startswith(MEMBER_OF):
        return _member(obj, added=expected is None)
    grant = parse_grant_key(obj)
    if grant is not None and grant.kind == "column":
        return _column_grant(grant, want, have, ctx)
    if obj.startswith("grant on "):
        return _grant(obj, want, have, ctx)
    if obj.startswith("default privileges of "):
        return _default_privileges(obj, want, have, ctx)
    if obj.startswith("role "):
        return _role(obj.removeprefix("role "), want, have, ctx, expected is None)
    if obj.startswith("membership of "):
        return _membership(obj, want, have, ctx)
    if obj == f"database {THIS_DATABASE}":
        return _settings(f"ALTER DATABASE {ident(ctx.database)}", want, have, _database_options)
    if obj == "all roles in all databases":
        return _every_database(_settings("ALTER ROLE ALL", want, have, None))
    if obj.startswith("channel ") or obj.startswith("NOTIFY in "):
        return Fix(None, "follows from the function or trigger that notifies: fix that")
    kind, name = parse_key(obj)
    if expected is None:
        return _unexpected(kind, name, have, ctx)
    if actual is None:
        return _missing(kind, name, want, ctx)
    return _changed(kind, name, want, have, ctx)


# --- PostgreSQL's own objects, extensions ----------------------------------------------------


def _every_database(found: Fix) -> Fix:
    """A setting of every role in every database reaches the other databases of the cluster
    too (another application's): the script never changes it, it says the command."""
    if found.sql is None:
        return found
    command = " ".join(found.sql.split("\n"))
    return Fix(
        None,
        "applies in every database of the cluster, not only this one (drift-check's script "
        f"never changes another database): a superuser who checked them runs: {command}",
    )


NOT_GORDONS = "drift-check's script never changes what Gordon does not own"


def _builtin(obj: str, want: dict[str, str], have: dict[str, str], ctx: Context) -> Fix:
    if obj.startswith("grant on "):
        found = _grant(obj, want, have, ctx)
        command = " ".join((found.sql or "").split("\n"))
        return Fix(None, f"PostgreSQL's own object ({NOT_GORDONS}): a superuser runs: {command}")
    if obj.startswith("language ") and "definition" in want:
        _, name = parse_key(obj)
        definition = want["definition"].split(", ")
        parts = dict(part.partition(" ")[::2] for part in definition[1:])
        trusted = "TRUSTED " if definition[0] == "trusted" else ""
        clauses = "".join(
            f" {word.upper()} {parts[word].partition('(')[0]}"
            for word in ("handler", "inline", "validator")
            if word in parts
        )
        return Fix(
            None,
            f"PostgreSQL's own language ({NOT_GORDONS}): a superuser runs: CREATE OR REPLACE "
            f"{trusted}LANGUAGE {name}{clauses};",
        )
    if "made after initdb" in have:
        kind, name = parse_key(obj)
        words = kind_of(kind).drop or kind.upper()
        return Fix(
            None,
            f"made in a system schema after initdb ({NOT_GORDONS}): find out who made it and "
            f"why, then a superuser drops it: DROP {words} {name};",
        )
    return Fix(
        None,
        "a built-in function's definition differs from what this PostgreSQL major ships "
        f"({NOT_GORDONS}): a superuser restores it from a fresh initdb of the same version "
        "(CREATE OR REPLACE with the original definition), or re-initialises the cluster",
    )


def _member(key: str, *, added: bool) -> Fix:
    extension, kind, identity = parse_member_key(key)
    if not kind_of(kind).extension_member:  # ALTER EXTENSION names it by its first word
        kind, _, rest = kind.partition(" ")
        identity = f"{rest} {identity}" if rest else identity
    words = kind.upper().replace("-", " ")
    if added:
        return Fix(
            None,
            f"added to extension {extension} out of band, which hides it from the report "
            f"({NOT_GORDONS}): the extension's owner or a superuser runs: ALTER EXTENSION "
            f"{extension} DROP {words} {identity}; then drift-check names the object itself",
        )
    return Fix(
        None,
        f"removed from extension {extension} ({NOT_GORDONS}): the extension's owner or a "
        f"superuser runs: ALTER EXTENSION {extension} ADD {words} {identity};",
    )


# --- privileges ------------------------------------------------------------------------------


def _privileges(text: str | None, *, table: bool, maintain: bool = False) -> dict[str, bool]:
    """``INSERT, SELECT WITH GRANT OPTION; ...`` -> {privilege: grantable}; ``ALL`` on a
    table includes MAINTAIN where the server has it (``maintain``)."""
    out: dict[str, bool] = {}
    for part in parse_privileges(text):
        grantable = part.grantable
        for name in part.names:
            names: set[str] | frozenset[str] = {name}
            if table and name == "ALL":
                names = grants.TABLE_ALL | ({grants.MAINTAIN} if maintain else set())
            for privilege in names:
                out[privilege] = out.get(privilege, False) or grantable
    return out


def _grant_statements(
    on: str, grantee: str, want: dict[str, bool], have: dict[str, bool], columns: str = ""
) -> list[str]:
    """REVOKE what is extra, GRANT what is missing: never more than the difference (a
    table-level REVOKE also takes the column privileges of the same name)."""
    out = []
    extra = sorted(p for p in have if p not in want)
    if extra:
        out.append(f"REVOKE {', '.join(f'{p}{columns}' for p in extra)} ON {on} FROM {grantee};")
    no_option = sorted(p for p in want if have.get(p) and not want[p])
    if no_option:
        out.append(
            f"REVOKE GRANT OPTION FOR {', '.join(f'{p}{columns}' for p in no_option)} "
            f"ON {on} FROM {grantee};"
        )
    for grantable in (False, True):
        missing = sorted(
            p for p, g in want.items() if g == grantable and (p not in have or (g and not have[p]))
        )
        if missing:
            option = " WITH GRANT OPTION" if grantable else ""
            out.append(
                f"GRANT {', '.join(f'{p}{columns}' for p in missing)} ON {on} TO {grantee}{option};"
            )
    return out


def _target(kind: str, name: str, ctx: Context) -> str:
    words = kind_of(kind).grant
    if kind == "database":
        return f"{words} {ident(ctx.database)}"
    return f"{words} {name}"


def _grant(obj: str, want: dict[str, str], have: dict[str, str], ctx: Context) -> Fix:
    grant = parse_grant_key(obj)
    if grant is None or kind_of(grant.kind).grant is None:
        return Fix(None, "no GRANT for this kind of object: revoke or grant by hand")
    kind, name, grantee = grant
    table = kind in RELATION_KINDS
    maintain = ctx.server_version >= 170000
    want_p = _privileges(want.get("privileges"), table=table, maintain=maintain)
    have_p = _privileges(have.get("privileges"), table=table, maintain=maintain)
    on = _target(kind, name, ctx)
    statements = _grant_statements(on, role_sql(grantee, ctx), want_p, have_p)
    if role_sql(grantee, ctx) == ident(ctx.bootstrap) and any(p not in want_p for p in have_p):
        return Fix(
            None,
            "the bootstrap superuser's own privileges: drift-check's script never revokes "
            f"them; if they must go, a superuser runs: {' '.join(statements)}",
        )
    if f"{kind} {name}" in ctx.reowned:
        statements += _grant_statements(on, role_sql(grantee, ctx), want_p, {})
    if table and any(p not in want_p for p in have_p):
        # Revoking a table privilege revokes it on every column too: put back the pinned ones.
        for column, privileges in ctx.column_grants.get((name, grantee), ()):
            statements += _grant_statements(
                f"TABLE {name}",
                role_sql(grantee, ctx),
                _privileges(privileges, table=False),
                {},
                columns=f" ({column})",
            )
    note = None
    if " GRANTED BY " in want.get("privileges", ""):
        note = "granted by another role: run the GRANT as that role"
    return Fix("\n".join(statements) or None, note)


def _column_grant(grant: GrantKey, want: dict[str, str], have: dict[str, str], ctx: Context) -> Fix:
    _, head, grantee = grant
    table, column = split_last(head)
    statements = _grant_statements(
        f"TABLE {table}",
        role_sql(grantee, ctx),
        _privileges(want.get("privileges"), table=False),
        _privileges(have.get("privileges"), table=False),
        columns=f" ({column})",
    )
    return Fix("\n".join(statements) or None)


_DEFAULT_OBJECTS = frozenset(grants.DEFAULT_ACL_OBJECTS.values())


def _default_privileges(obj: str, want: dict[str, str], have: dict[str, str], ctx: Context) -> Fix:
    key = parse_default_privileges_key(obj)
    if key is None or key.grantee is None:
        return Fix(None, "an emptied default ACL: restore it with ALTER DEFAULT PRIVILEGES")
    owner, schema, objects, grantee = key.owner, key.schema, key.objects, key.grantee
    where = "" if schema is None else f" IN SCHEMA {schema}"
    if objects not in _DEFAULT_OBJECTS:
        return Fix(None, "restore with ALTER DEFAULT PRIVILEGES")
    prefix = f"ALTER DEFAULT PRIVILEGES FOR ROLE {role_sql(owner, ctx)}{where}"
    maintain = ctx.server_version >= 170000
    statements = _grant_statements(
        objects.upper(),
        role_sql(grantee, ctx),
        _privileges(want.get("privileges"), table=objects == "tables", maintain=maintain),
        _privileges(have.get("privileges"), table=objects == "tables", maintain=maintain),
    )
    public = _PUBLIC_BY_DEFAULT.get(objects)
    if not have and not where and owner == grantee and public:
        # The whole default ACL is gone: PostgreSQL dropped it once it equalled the built-in
        # default, which gives PUBLIC what the pinned one did not (a pinned grant to PUBLIC is
        # a difference of its own, granted again after this).
        statements.insert(0, f"REVOKE {public} ON {objects.upper()} FROM PUBLIC;")
    return Fix("\n".join(f"{prefix} {s}" for s in statements) or None)


#: What the built-in default privileges give PUBLIC on objects created later.
_PUBLIC_BY_DEFAULT = {"functions": "EXECUTE", "types": "USAGE"}


# --- roles, memberships, settings ---------------------------------------------------------------


def _setting_value(key: str, value: str) -> str:
    if key in _LIST_SETTINGS:
        items = [item.strip() for item in value.split(",")]
        return ", ".join(
            literal(item[1:-1].replace('""', '"') if item.startswith('"') else item)
            for item in items
        )
    return literal(value)


Options = Callable[[str, dict[str, str], dict[str, str]], list[str]]


def _settings(
    target: str,
    want: dict[str, str],
    have: dict[str, str],
    other: Options | None,
    *,
    prefix: str = "setting ",
) -> Fix:
    statements = []
    for facet in sorted(want.keys() | have.keys()):
        if not facet.startswith(prefix) or want.get(facet) == have.get(facet):
            continue
        if prefix == "setting " and facet.startswith("setting in this database "):
            continue
        key = facet.removeprefix(prefix)
        if facet not in want:
            statements.append(f"{target} RESET {key};")
        else:
            statements.append(f"{target} SET {key} = {_setting_value(key, want[facet])};")
    if other is not None:
        statements += other(target, want, have)
    return Fix("\n".join(statements) or None)


def _database_options(target: str, want: dict[str, str], have: dict[str, str]) -> list[str]:
    out = []
    if want.get("connection limit") != have.get("connection limit"):
        limit = want.get("connection limit", "none")
        out.append(f"{target} CONNECTION LIMIT {-1 if limit == 'none' else int(limit)};")
    if want.get("allow connections") != have.get("allow connections"):
        out.append(f"{target} ALLOW_CONNECTIONS {want.get('allow connections') == 'yes'};")
    if want.get("is template") != have.get("is template"):
        out.append(f"{target} IS_TEMPLATE {want.get('is template') == 'yes'};")
    return out


def _role(name: str, want: dict[str, str], have: dict[str, str], ctx: Context, extra: bool) -> Fix:
    if extra and all(facet.startswith("setting in this database ") for facet in have):
        # e.g. the migrator's own sessions here set to skip triggers
        return _settings(
            f"ALTER ROLE {role_sql(name, ctx)} IN DATABASE {ident(ctx.database)}",
            {},
            have,
            None,
            prefix="setting in this database ",
        )
    if extra:
        return Fix(
            None,
            "a role the fixtures do not describe now holds something in this database: the "
            "differences about it are fixed one by one; drop the role by hand if it must go",
        )
    if want.get("exists") == "no" or have.get("exists") == "no":
        return Fix(None, "the role itself is missing or unexpected: create or drop it by hand")
    target = f"ALTER ROLE {role_sql(name, ctx)}"
    attributes = [
        ("" if want[facet] == "yes" else "NO") + word
        for facet, word in _ROLE_ATTRIBUTES.items()
        if facet in want and want[facet] != have.get(facet)
    ]
    statements = [f"{target} {' '.join(attributes)};"] if attributes else []
    if "connection limit" in want and want["connection limit"] != have.get("connection limit"):
        limit = want["connection limit"]
        statements.append(f"{target} CONNECTION LIMIT {-1 if limit == 'none' else int(limit)};")
    if want.get("valid until") != have.get("valid until"):
        # No expiry reads as 'infinity' once set: the snapshot takes both as none.
        statements.append(f"{target} VALID UNTIL {literal(want.get('valid until', 'infinity'))};")
    everywhere = _settings(target, want, have, None)
    here = _settings(
        f"{target} IN DATABASE {ident(ctx.database)}",
        want,
        have,
        None,
        prefix="setting in this database ",
    )
    statements += [s for fix in (everywhere, here) for s in (fix.sql or "").split("\n") if s]
    return Fix("\n".join(statements) or None)


def _membership(obj: str, want: dict[str, str], have: dict[str, str], ctx: Context) -> Fix:
    member, _, granted = obj.removeprefix("membership of ").partition(" in ")
    grant_of = f"{role_sql(granted, ctx)} TO {role_sql(member, ctx)}"
    revoke = f"REVOKE {role_sql(granted, ctx)} FROM {role_sql(member, ctx)};"
    if not want:
        if member not in ctx.roles and granted not in ctx.roles:
            return Fix(
                None,
                f"{member} is not a Gordon role ({NOT_GORDONS}): a role that can grant "
                f"{granted} runs: {revoke}",
            )
        return Fix(revoke)
    options = []
    if ctx.server_version >= 160000:
        options = [
            f"ADMIN {want.get('admin option') == 'yes'}",
            f"INHERIT {want.get('inherit') == 'yes'}",
            f"SET {want.get('set') == 'yes'}",
        ]
        grant = f"GRANT {grant_of} WITH {', '.join(options).upper()};"
    else:
        grant = (
            f"GRANT {grant_of}{' WITH ADMIN OPTION' if want.get('admin option') == 'yes' else ''};"
        )
    return Fix("\n".join(([revoke] if have else []) + [grant]))


# --- schema objects ------------------------------------------------------------------------------


def _unexpected(kind: str, name: str, have: dict[str, str], ctx: Context) -> Fix:
    if kind == "trigger":
        table, trigger = split_last(name)
        return Fix(f"DROP TRIGGER {trigger} ON {table};")
    if kind == "policy":
        table, policy = split_last(name)
        return Fix(f"DROP POLICY {policy} ON {table};")
    if kind == "rule":
        table, rule = split_last(name)
        return Fix(f"DROP RULE {rule} ON {table};")
    if kind in ("constraint", "domain constraint"):
        owner, constraint = split_last(name)
        words = "TABLE" if kind == "constraint" else "DOMAIN"
        return Fix(
            f"ALTER {words} {owner} DROP CONSTRAINT {constraint};"
            + _referenced_lock(have.get("definition"))
        )
    if kind == "publication relation":
        relation, _, publication = name.partition(" in publication ")
        return Fix(f"ALTER PUBLICATION {publication} DROP TABLE {relation};")
    if kind == "publication namespace":
        schema, _, publication = name.partition(" in publication ")
        return Fix(f"ALTER PUBLICATION {publication} DROP TABLES IN SCHEMA {schema};")
    if kind == "subscription":
        return Fix(
            None,
            f"ALTER SUBSCRIPTION {name} DISABLE; ALTER SUBSCRIPTION {name} SET (slot_name = "
            f"NONE); DROP SUBSCRIPTION {name}; then drop its replication slot on the publisher",
        )
    if kind == "user mapping":
        user, _, server = name.partition(" on server ")
        return Fix(f"DROP USER MAPPING FOR {user} SERVER {server};")
    if kind == "table" and set(have) <= {"row level security", "force row level security"}:
        # a tool table (only its switches are compared)
        return _table_switches(name, {}, have)
    if kind == "extension":
        return Fix(None, "an extension can own tables (data): drop it by hand if it must go")
    if kind == "attribute":
        return Fix(None, "an attribute of a composite type: goes with the type")
    if kind == "column" and set(have) == {"default"}:
        # A view's column: only a default given to it is listed (it holds no data).
        view, column = split_last(name)
        return Fix(f"ALTER VIEW {view} ALTER COLUMN {column} DROP DEFAULT;")
    if kind in ("table", "column", "sequence", "foreign table"):
        return Fix(None, DESTRUCTIVE)
    if kind == "index":
        # Not DROP INDEX in the transaction: it would hold ACCESS EXCLUSIVE on the table.
        return Fix(f"{NO_TRANSACTION}DROP INDEX CONCURRENTLY IF EXISTS {name};")
    drop = kind_of(kind).drop
    if drop is not None:
        if kind == "schema":
            return Fix(
                f"DROP SCHEMA {name};",
                "RESTRICT: fails while anything is left in it (its objects are listed too)",
            )
        return Fix(f"DROP {drop} {name};")
    return Fix(None, "not known to drift-check's fixer: remove it by hand")


def _missing(kind: str, name: str, want: dict[str, str], ctx: Context) -> Fix:
    definition = want.get("definition")
    if kind == "index" and definition:
        return Fix(f"{NO_TRANSACTION}{_concurrently(definition, None)};")
    if kind == "trigger" and definition:
        table, trigger = split_last(name)
        statements = [f"{definition};"]
        state = want.get("enabled", "enabled")
        if state != "enabled":
            statements.append(f"ALTER TABLE {table} {_TRIGGER_STATE[state]} {trigger};")
        return Fix("\n".join(statements))
    if kind == "policy":
        return Fix(_create_policy(name, want, ctx))
    if kind == "constraint" and definition:
        table, constraint = split_last(name)
        return Fix(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {definition};")
    return Fix(None, MIGRATION)


def _create_policy(name: str, want: dict[str, str], ctx: Context) -> str:
    table, policy = split_last(name)
    roles = ", ".join(role_sql(r, ctx) for r in want.get("roles", "PUBLIC").split(", "))
    text = (
        f"CREATE POLICY {policy} ON {table} AS {want.get('type', 'permissive').upper()} "
        f"FOR {want.get('command', 'ALL')} TO {roles}"
    )
    if "using" in want:
        text += f" USING ({want['using']})"
    if "with check" in want:
        text += f" WITH CHECK ({want['with check']})"
    return text + ";"


def _table_switches(name: str, want: dict[str, str], have: dict[str, str]) -> Fix:
    statements = []
    if want.get("row level security", "disabled") != have.get("row level security", "disabled"):
        word = "ENABLE" if want.get("row level security") == "enabled" else "DISABLE"
        statements.append(f"ALTER TABLE {name} {word} ROW LEVEL SECURITY;")
    if want.get("force row level security", "no") != have.get("force row level security", "no"):
        word = "FORCE" if want.get("force row level security") == "yes" else "NO FORCE"
        statements.append(f"ALTER TABLE {name} {word} ROW LEVEL SECURITY;")
    return Fix("\n".join(statements) or None)


def _changed(kind: str, name: str, want: dict[str, str], have: dict[str, str], ctx: Context) -> Fix:
    differing = {f for f in want.keys() | have.keys() if want.get(f) != have.get(f)}
    statements: list[str] = []
    left = set(differing)
    if kind == "sequence" and "owned by" in want:
        left.discard("owner")  # follows the owner of its table (fixed there)
    elif "owner" in differing and kind_of(kind).alter and "owner" in want:
        words = kind_of(kind).alter
        statements.append(f"ALTER {words} {name} OWNER TO {role_sql(want['owner'], ctx)};")
        left.discard("owner")
    if kind == "table":
        switches = _table_switches(name, want, have)
        if switches.sql:
            statements.append(switches.sql)
        left -= {"row level security", "force row level security"}
        statements += _table_storage(name, want, have, left)
        internal = {f for f in left if f.startswith("internal trigger ")}
        if internal:
            # Internal (foreign key) triggers have OID names: switch them all back on, then
            # the table's own triggers back to their pinned state.
            statements.append(f"ALTER TABLE {name} ENABLE TRIGGER ALL;")
            for trigger, state in ctx.trigger_states.get(name, ()):
                statements.append(f"ALTER TABLE {name} {_TRIGGER_STATE[state]} {trigger};")
            left -= internal
    elif kind == "trigger":
        table, trigger = split_last(name)
        if "definition" in left and "definition" in want:
            statements += [f"DROP TRIGGER {trigger} ON {table};", f"{want['definition']};"]
            left.discard("definition")
            if want.get("enabled", "enabled") != "enabled":
                left.add("enabled")  # a re-created trigger starts enabled
        if "enabled" in left:
            state = want.get("enabled", "enabled")
            statements.append(f"ALTER TABLE {table} {_TRIGGER_STATE[state]} {trigger};")
            left.discard("enabled")
    elif kind == "index" and left == {"replica identity"}:
        return Fix(None, "follows its table's REPLICA IDENTITY (restored there)")
    elif kind == "index" and "definition" in want:
        return _rebuild_index(name, want["definition"], ctx)
    elif kind == "sequence":
        statements += _sequence(name, want, have)
        left -= {*_SEQUENCE_OPTIONS, "cycle"}
    elif kind == "column":
        found = _column(name, want, have, ctx)
        statements += found
        left -= {f for f in _COLUMN_FACETS if f in left and found}
    elif kind in ("function", "procedure") and left <= _FUNCTION_FACETS:
        statements += _function(kind, name, want, have)
        left.clear()
    elif kind == "view" and left <= {"definition", "options"}:
        if "definition" in left:
            statements.append(f"CREATE OR REPLACE VIEW {name} AS\n{want['definition']}")
        if "options" in left:  # security_invoker, security_barrier, check_option
            statements += _options(f"ALTER VIEW {name}", want, have)
        left.clear()
    elif kind == "policy":
        table, policy = split_last(name)
        statements += [f"DROP POLICY {policy} ON {table};", _create_policy(name, want, ctx)]
        left.clear()
    elif kind == "event trigger" and left == {"enabled"}:
        state = _EVENT_TRIGGER_STATE.get(want.get("enabled", "O"), "ENABLE")
        statements.append(f"ALTER EVENT TRIGGER {name} {state};")
        left.clear()
    elif kind in ("constraint", "domain constraint") and "definition" in want:
        owner, constraint = split_last(name)
        words = "TABLE" if kind == "constraint" else "DOMAIN"
        statements += [
            f"ALTER {words} {owner} DROP CONSTRAINT {constraint};"
            + _referenced_lock(have.get("definition")),
            f"ALTER {words} {owner} ADD CONSTRAINT {constraint} {want['definition']};",
        ]
        left.clear()
    note = None
    if left:
        facets = ", ".join(sorted(left))
        note = (
            DESTRUCTIVE
            if kind in ("column", "table", "sequence") and "type" in left
            else f"{facets}: {MIGRATION}"
        )
    return Fix("\n".join(statements) or None, note)


def _referenced_lock(definition: str | None) -> str:
    """For a dropped foreign key: the lock its referenced table takes (its triggers there go
    with it), as the comment ``lockplan`` reads; the DROP's text does not name that table."""
    if not (definition or "").startswith("FOREIGN KEY "):
        return ""
    # Imported here: its statement forms compile at import, which a check without a dropped
    # foreign key (or without --fix-sql) never needs.
    from gordon_migrate.drift import lockplan

    found = lockplan.reference(definition or "")
    if found is None:
        return ""
    return (
        f"\n{lockplan.ALSO_LOCKS} {found} ACCESS EXCLUSIVE: the foreign key's triggers on it "
        "are dropped"
    )


def _concurrently(definition: str, new_name: str | None) -> str:
    """``CREATE [UNIQUE] INDEX name ON ...`` built CONCURRENTLY (under ``new_name``)."""
    head, _, rest = definition.partition(" INDEX ")
    name, _, on = rest.partition(" ON ")
    return f"{head} INDEX CONCURRENTLY {new_name or name} ON {on}"


def _rebuild_index(name: str, definition: str, ctx: Context) -> Fix:
    """An index that differs or is not valid, rebuilt without blocking writes: built
    CONCURRENTLY under a new name, then swapped for the old one (which REINDEX CONCURRENTLY
    does itself for an index behind a constraint, whose definition has not changed)."""
    schema, index = split_last(name)
    if name in ctx.constraint_indexes:
        return Fix(
            f"{NO_TRANSACTION}REINDEX INDEX CONCURRENTLY {name};",
            "behind a constraint: rebuilt in place; if its definition differs, restore the "
            "constraint from its migration",
        )
    bare = index.strip('"')
    temporary = ident(f"{bare[:48]}_gordon_rebuild")
    return Fix(
        NO_TRANSACTION
        + "\n".join(
            [
                f"DROP INDEX CONCURRENTLY IF EXISTS {schema}.{temporary};",
                f"{_concurrently(definition, temporary)};",
                f"DROP INDEX CONCURRENTLY {name};",
                f"ALTER INDEX {schema}.{temporary} RENAME TO {index};",
            ]
        )
    )


_SEQUENCE_OPTIONS = {
    "type": "AS {}",
    "increment": "INCREMENT BY {}",
    "min": "MINVALUE {}",
    "max": "MAXVALUE {}",
    "start": "START WITH {}",
    "cache": "CACHE {}",
}


def _sequence(name: str, want: dict[str, str], have: dict[str, str]) -> list[str]:
    options = [
        template.format(want[facet])
        for facet, template in _SEQUENCE_OPTIONS.items()
        if facet in want and want[facet] != have.get(facet)
    ]
    if "cycle" in want and want["cycle"] != have.get("cycle"):
        options.append("CYCLE" if want["cycle"] == "yes" else "NO CYCLE")
    return [f"ALTER SEQUENCE {name} {' '.join(options)};"] if options else []


_COLUMN_FACETS = {"default", "generated", "identity", "not null", "not null constraint"}
_IDENTITY = {"always": "ALWAYS", "by default": "BY DEFAULT"}


def _column(name: str, want: dict[str, str], have: dict[str, str], ctx: Context) -> list[str]:
    """What ALTER TABLE restores of a column without touching its rows: its default, its
    generated expression (PostgreSQL 17+), its identity's kind, its NOT NULL. Nothing when
    anything else differs (its type: the migration's)."""
    differing = {f for f in want.keys() | have.keys() if want.get(f) != have.get(f)}
    if not differing <= _COLUMN_FACETS:
        return []
    table, column = split_last(name)
    target = f"ALTER TABLE {table} ALTER COLUMN {column}"
    out: list[str] = []
    if "default" in differing:
        default = want.get("default")
        out.append(f"{target} {'DROP DEFAULT' if default is None else f'SET DEFAULT {default}'};")
    if "generated" in differing:
        kind_w, _, expression = want.get("generated", "").partition(" ")
        kind_h = have.get("generated", "").partition(" ")[0]
        if ctx.server_version < 170000 or not expression or kind_w != kind_h:
            return []
        out.append(f"{target} SET EXPRESSION AS {expression};")
    if "identity" in differing:
        # Only between ALWAYS and BY DEFAULT: the sequence behind it is still there.
        pinned, now = want.get("identity", ""), have.get("identity", "")
        if pinned not in _IDENTITY or now not in _IDENTITY:
            return []
        out.append(f"{target} SET GENERATED {_IDENTITY[pinned]};")
    if "not null" in differing and want.get("not null") == "no":
        out.append(f"{target} DROP NOT NULL;")
    elif "not null" in differing or "not null constraint" in differing:
        # Under ACCESS EXCLUSIVE it scans the table; a NULL row fails it (nothing is lost).
        out.append(f"{target} SET NOT NULL;")
    return out


_FUNCTION_FACETS = {
    "security",
    "volatility",
    "leakproof",
    "strict",
    "parallel",
    "cost",
    "rows",
    "settings",
}


def _function(kind: str, name: str, want: dict[str, str], have: dict[str, str]) -> list[str]:
    target = f"ALTER {kind_of(kind).alter} {name}"
    options = []
    if want.get("security") != have.get("security"):
        options.append(f"SECURITY {want.get('security', 'invoker').upper()}")
    if want.get("volatility") != have.get("volatility"):
        options.append(want.get("volatility", "volatile").upper())
    if want.get("leakproof") != have.get("leakproof"):
        options.append("LEAKPROOF" if want.get("leakproof") == "yes" else "NOT LEAKPROOF")
    if want.get("strict") != have.get("strict"):
        options.append("STRICT" if want.get("strict") == "yes" else "CALLED ON NULL INPUT")
    if want.get("parallel") != have.get("parallel"):
        options.append(f"PARALLEL {want.get('parallel', 'unsafe').upper()}")
    for facet in ("cost", "rows"):
        if facet in want and want[facet] != have.get(facet):
            options.append(f"{facet.upper()} {want[facet]}")
    out = [f"{target} {' '.join(options)};"] if options else []
    if want.get("settings") != have.get("settings"):
        out.append(f"{target} RESET ALL;")
        for setting in filter(None, want.get("settings", "").split("\n")):
            key, _, value = setting.partition("=")
            out.append(f"{target} SET {key} = {_setting_value(key, value)};")
    return out


def _options(target: str, want: dict[str, str], have: dict[str, str]) -> list[str]:
    """The storage options (``WITH (...)``) of a table or a view put back as pinned."""
    pinned = dict(o.partition("=")[::2] for o in want.get("options", "").split(", ") if o)
    now = dict(o.partition("=")[::2] for o in have.get("options", "").split(", ") if o)
    out = []
    gone = sorted(set(now) - set(pinned))
    if gone:
        out.append(f"{target} RESET ({', '.join(gone)});")
    changed = [f"{k}={v}" for k, v in sorted(pinned.items()) if now.get(k) != v]
    if changed:
        out.append(f"{target} SET ({', '.join(changed)});")
    return out


def _table_storage(
    name: str, want: dict[str, str], have: dict[str, str], left: set[str]
) -> list[str]:
    """Options, persistence and replica identity of a table (``left`` loses what is done)."""
    out = []
    if "options" in left:
        out += _options(f"ALTER TABLE {name}", want, have)
        left.discard("options")
    if "persistence" in left and want.get("persistence", "") in ("", "unlogged"):
        word = "UNLOGGED" if want.get("persistence") == "unlogged" else "LOGGED"
        out.append(f"ALTER TABLE {name} SET {word};")
        left.discard("persistence")
    if "replica identity" in left and want.get("replica identity") in (
        "default",
        "full",
        "nothing",
    ):
        out.append(f"ALTER TABLE {name} REPLICA IDENTITY {want['replica identity'].upper()};")
        left.discard("replica identity")
    return out


def order(item: tuple[str, str, Fix]) -> int:
    """Sort key of (object, kind, fix): drops last, in dependency order."""
    obj, kind, fix = item
    if kind != "unexpected" or not str(fix.sql).startswith("DROP"):
        return 0
    return 1 + drop_rank(parse_key(obj)[0])


def identity(obj: str) -> tuple[str, str] | None:
    """(kind, name) of an object a fix can drop, or that comes back whole with its migration."""
    kind, name = parse_key(obj)
    return (kind, name) if kind_of(kind).whole else None


def goes_with(obj: str, objects: set[tuple[str, str]]) -> bool:
    """Whether ``obj`` (a privilege, a publication's member) belongs to one of ``objects``
    ((kind, name) as ``identity`` gives them): it goes and comes with that object, and needs
    no statement of its own."""
    grant = parse_grant_key(obj)
    if grant is not None:
        if grant.kind == "column":  # a column's privileges belong to its relation
            relation = split_last(grant.name)[0]
            return any((kind, relation) in objects for kind in RELATION_KINDS)
        if kind_of(grant.kind).grant and (grant.kind, grant.name) in objects:
            return True
    if obj.startswith(("publication relation ", "publication namespace ")):
        return ("publication", obj.rpartition(" in publication ")[2]) in objects
    return False


def sections(fixes: Sequence[tuple[str, str, Fix]]) -> tuple[list[str], list[str]]:
    """(the statements of the transaction, those run after COMMIT one at a time), each a
    fix's SQL, in the order they run."""
    restorable = sorted((item for item in fixes if item[2].sql), key=order)
    inside = [str(f.sql) for _, _, f in restorable if not str(f.sql).startswith(NO_TRANSACTION)]
    after = [
        str(f.sql).removeprefix(NO_TRANSACTION)
        for _, _, f in restorable
        if str(f.sql).startswith(NO_TRANSACTION)
    ]
    return inside, after


def lock_plan(fixes: Sequence[tuple[str, str, Fix]]) -> list[str]:
    """The locks the script of ``fixes`` takes (``lockplan``), as lines."""
    from gordon_migrate.drift import lockplan

    inside, after = sections(fixes)
    return lockplan.plan_lines(
        lockplan.locks(inside, in_transaction=True) + lockplan.locks(after, in_transaction=False)
    )


def script(fixes: Sequence[tuple[str, str, Fix]], database: str) -> str:
    """The whole fix script: its lock plan, one transaction with every restorable difference,
    then the statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY...), one
    at a time, then the differences left to a person, as comments. ``fixes``: (object, kind,
    fix) in report order."""
    restorable = sorted((item for item in fixes if item[2].sql), key=order)
    manual = [(o, k, f) for o, k, f in fixes if f.note]
    out = [
        f"-- gordon-migrate drift-check --fix-sql for database {database}: "
        f"{len(fixes)} difference{'s' * (len(fixes) != 1)}, {len(restorable)} restored here, "
        f"{len(manual)} left to you (listed at the end).",
        "-- Run it as the role that runs the migrations (or a superuser), for example:",
        '--   psql -v ON_ERROR_STOP=1 -f fix.sql "$DATABASE_URL"',
        "-- (statement by statement, as psql does: the part after COMMIT cannot run in a",
        "-- transaction, nor in one multi-statement string).",
    ]
    out += [f"-- {line}" for line in lock_plan(fixes)]
    out.append("BEGIN;")
    later: list[tuple[str, str, str]] = []
    for obj, kind, fix in restorable:
        text = str(fix.sql)
        if text.startswith(NO_TRANSACTION):
            later.append((obj, kind, text.removeprefix(NO_TRANSACTION)))
            continue
        out += ["", f"-- {kind}: {obj}", text]
    out += ["", "COMMIT;"]
    if later:
        out += ["", f"-- {NO_TRANSACTION_TITLE}"]
        for obj, kind, text in later:
            out += ["", f"-- {kind}: {obj}", text]
    if manual:
        out += ["", "-- Not restored here (what to do):"]
        for obj, kind, fix in manual:
            out.append(f"-- {kind}: {obj}: {fix.note}")
    return "\n".join(out) + "\n"


#: The comment that opens the script's part after COMMIT.
NO_TRANSACTION_TITLE = (
    "No transaction from here: each statement on its own (a failed CREATE INDEX CONCURRENTLY "
    "leaves an INVALID index behind: the next drift-check names it, and this script's next "
    "run drops it first)."
)
