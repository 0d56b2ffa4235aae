"""The access contract: what a migration changed of who can see or do what, read from the
scratch's catalogs before and after it, each change in words and judged.

The API (rehearse calls it per pending migration; lint, ``apply --dry-run`` and the TUI read
its result from ``model.MigrationFacts.access``, never the catalogs themselves):

- ``read_access(conn) -> AccessState``: the access facts of the Gordon schemas (every schema
  but PostgreSQL's own), one round trip: table, view, sequence, column, function and schema
  privileges per role and PUBLIC (an object with no ACL reads as the server's default,
  ``acldefault``: a new function is executable by PUBLIC until that is revoked), owners, row
  level security (enabled, forced) and policies, default privileges, role memberships (of
  every role but the predefined ones, in any role, predefined ones included) and trigger
  states.
- ``delta(before, after, runtime) -> tuple[AccessChange, ...]``: each change with its
  ``text``, its ``severity`` (``error`` or ``info``) and, for an error, ``why``. Pure.
- ``runtime_roles()``: the runtime roles, those the pinned grant matrix describes
  (``fixtures/grants.txt``'s ``role NAME`` lines): never a list written here.
- ``errors(changes)``: the error-level ones (one lint finding each, anchored on the migration:
  the delta is measured per migration, not per statement).

An ``error`` is a change that:

- removes a privilege a runtime role held on an object that is still there (REVOKE);
- gives a privilege to PUBLIC, or, on an object that existed before, to a role that did not
  hold it (a column privilege its table-level privilege already covered does not count); on a
  new object, to a role that held no privilege in the Gordon schemas at all;
- changes the owner of an existing object, or makes a runtime role the owner of a new one;
- makes default privileges grant to a runtime role or to PUBLIC (0008: no default privilege
  grants to a runtime role; a patch states its grants);
- leaves a role that holds SELECT, INSERT, UPDATE or DELETE on a table with row level
  security with no permissive policy for that command (it silently sees or changes no row):
  by enabling it, by dropping or changing a policy, or by granting into such a table;
- forces row level security where no policy lets the owner read: FORCE changes nothing for
  the runtime roles (they were subject to the policies already), only for the owner, which is
  the migrating role (later migrations' backfills, operators) and whoever runs its SECURITY
  DEFINER functions. The scratch's role may be a superuser, which bypasses row level security
  anyway; the production migrator is not, so the owner is judged as a plain role;
- disables a row level security that was enabled (every row becomes visible);
- disables a trigger (``DISABLE``, or ``ENABLE REPLICA``: it no longer fires in a normal
  session), creates one disabled, or drops a trigger from a table that stays (a ``DROP
  FUNCTION ... CASCADE`` does that silently);
- makes a runtime role a member of another role, or another role a member of a runtime or
  predefined role, or takes a membership from a runtime role.

Everything else (grants on a new object to roles that have access already, revokes from
PUBLIC or from a role that is not a runtime role, policies created or dropped without
leaving a reader uncovered, a trigger enabled again) is ``info``. The owner's own privileges
are left out (the owner can always grant them back; an owner change is reported as such).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gordon_migrate.core.bundle import bundled_path
from gordon_migrate.core.db import Conn
from gordon_migrate.rehearse.model import AccessChange

__all__ = [
    "AccessChange",
    "AccessState",
    "delta",
    "errors",
    "read_access",
    "runtime_roles",
]

PUBLIC = "PUBLIC"
#: The pinned grant matrix, whose ``role NAME`` lines name the runtime roles.
GRANTS_FIXTURE = "grants.txt"

_SCOPE = (
    "{n}.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
    "AND {n}.nspname !~ '^pg_(toast_)?temp_[0-9]+$'"
)


def _scope(alias: str) -> str:
    return _SCOPE.format(n=alias)


_GRANTEE = "CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END"

# Relations, functions and schemas: owner and privileges (the server's default ACL where the
# object has none). Relations are named without their kind: tables, views and sequences share
# one namespace.
_OBJECTS = f"""
SELECT o.label, o.kind, pg_get_userbyid(o.owner)::text, {_GRANTEE}, x.privilege_type,
       x.is_grantable
FROM (
    SELECT format('%I.%I', n.nspname, c.relname) AS label,
           CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                ELSE 'table' END AS kind,
           c.relowner AS owner,
           coalesce(c.relacl, acldefault(
               CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_scope("n")}
    UNION ALL
    SELECT format('%s %I.%I(%s)', CASE p.prokind WHEN 'p' THEN 'procedure'
                                      WHEN 'a' THEN 'aggregate' ELSE 'function' END,
                  n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           'function', p.proowner, coalesce(p.proacl, acldefault('f', p.proowner))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE {_scope("n")}
    UNION ALL
    SELECT format('schema %I', n.nspname), 'schema', n.nspowner,
           coalesce(n.nspacl, acldefault('n', n.nspowner))
    FROM pg_namespace n WHERE {_scope("n")}
) o
LEFT JOIN LATERAL aclexplode(o.acl) x ON true
"""

# Every column (to tell a new one from an existing one) with its privileges, if any.
_COLUMNS = f"""
SELECT format('%I.%I', n.nspname, c.relname), quote_ident(a.attname), {_GRANTEE},
       x.privilege_type, x.is_grantable
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL aclexplode(a.attacl) x ON true
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {_scope("n")}
"""

# Tables with row level security enabled or forced, or with a policy, and their policies.
_RLS = f"""
SELECT format('%I.%I', n.nspname, c.relname), c.relrowsecurity, c.relforcerowsecurity,
       pol.polname::text, pol.polcmd::text, pol.polpermissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
             FROM unnest(pol.polroles) r ORDER BY 1),
       pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_policy pol ON pol.polrelid = c.oid
WHERE c.relkind IN ('r', 'p') AND {_scope("n")}
  AND (c.relrowsecurity OR c.relforcerowsecurity OR pol.oid IS NOT NULL)
"""

# Default privileges. A role's global entry (no schema) is its whole default for that kind of
# object, the server's built-in one (acldefault) when it has none, so a global entry appearing
# reads as the privileges it changed; a schema's entry only adds. pg_default_acl spells a
# sequence 'S', acldefault 's'.
_DEFAULTS = f"""
SELECT pg_get_userbyid(r.oid)::text, NULL::text, t.objtype, {_GRANTEE}, x.privilege_type,
       x.is_grantable
FROM pg_roles r
CROSS JOIN (VALUES ('r'), ('S'), ('f'), ('T'), ('n')) AS t (objtype)
LEFT JOIN pg_default_acl d
       ON d.defaclrole = r.oid AND d.defaclnamespace = 0 AND d.defaclobjtype = t.objtype
CROSS JOIN LATERAL aclexplode(coalesce(
    d.defaclacl,
    acldefault(CASE WHEN t.objtype = 'S' THEN 's' ELSE t.objtype END::"char", r.oid))) x
WHERE r.rolname !~ '^pg_'
UNION ALL
SELECT pg_get_userbyid(d.defaclrole)::text, quote_ident(n.nspname), d.defaclobjtype::text,
       {_GRANTEE}, x.privilege_type, x.is_grantable
FROM pg_default_acl d
JOIN pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL aclexplode(d.defaclacl) x
WHERE {_scope("n")}
"""

_MEMBERSHIPS = """
SELECT pg_get_userbyid(m.member)::text, pg_get_userbyid(m.roleid)::text, m.admin_option
FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
WHERE r.rolname !~ '^pg_'
"""

_TRIGGERS = f"""
SELECT format('%I.%I', n.nspname, c.relname), quote_ident(t.tgname), t.tgenabled::text
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND {_scope("n")}
"""

#: ``defaclobjtype`` in the words of ALTER DEFAULT PRIVILEGES.
_DEFAULT_OBJECTS = {
    "r": "tables",
    "S": "sequences",
    "f": "functions",
    "T": "types",
    "n": "schemas",
}
_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
#: The privileges row level security filters, and what a role without a policy cannot do.
_FILTERED = {
    "SELECT": "read it",
    "INSERT": "insert into it",
    "UPDATE": "update it",
    "DELETE": "delete from it",
}
_TRIGGER_STATES = {
    "O": "enabled",
    "A": "enabled always",
    "R": "enabled for replica sessions only",
    "D": "disabled",
}
_NOT_FIRING = frozenset({"D", "R"})


@dataclass(frozen=True)
class Privilege:
    """One privilege one grantee holds on one object (or one column of it)."""

    object: str
    """``trading.fills``, ``function trading.f()``, ``schema trading``."""
    grantee: str
    """A role, or ``PUBLIC``."""
    privilege: str
    grantable: bool = False
    column: str | None = None


@dataclass(frozen=True)
class Policy:
    table: str
    name: str
    command: str
    """``SELECT``, ``INSERT``, ``UPDATE``, ``DELETE`` or ``ALL``."""
    roles: tuple[str, ...]
    permissive: bool
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class DefaultPrivilege:
    """What objects ``role`` creates (in ``schema``, or anywhere) grant to ``grantee``."""

    role: str
    schema: str | None
    objects: str
    """``tables``, ``sequences``, ``functions``, ``types``, ``schemas``."""
    grantee: str
    privilege: str
    grantable: bool = False


@dataclass(frozen=True)
class Membership:
    member: str
    role: str
    admin: bool = False


@dataclass(frozen=True)
class AccessState:
    """Who can see or do what in the Gordon schemas, as one connection read it."""

    owners: Mapping[str, str]
    """Object (as in ``Privilege.object``) -> its owner; every relation, function, schema."""
    kinds: Mapping[str, str]
    """Object -> ``table``, ``view``, ``sequence``, ``function``, ``schema``..."""
    columns: frozenset[tuple[str, str]]
    """Every (relation, column)."""
    privileges: frozenset[Privilege]
    rls: Mapping[str, tuple[bool, bool]]
    """Table -> (enabled, forced), for tables with either or with a policy."""
    policies: frozenset[Policy]
    defaults: frozenset[DefaultPrivilege]
    memberships: frozenset[Membership]
    triggers: Mapping[tuple[str, str], str]
    """(table, trigger) -> ``tgenabled`` (``O``, ``D``, ``R``, ``A``)."""


def read_access(conn: Conn) -> AccessState:
    """The access facts of ``conn``'s database, in one round trip (a pipeline of six
    catalog queries)."""
    with conn.pipeline():
        cursors = [
            conn.execute(query)
            for query in (_OBJECTS, _COLUMNS, _RLS, _DEFAULTS, _MEMBERSHIPS, _TRIGGERS)
        ]
    objects, columns, rls, defaults, memberships, triggers = (c.fetchall() for c in cursors)
    owners: dict[str, str] = {}
    kinds: dict[str, str] = {}
    privileges: set[Privilege] = set()
    for label, kind, owner, grantee, privilege, grantable in objects:
        owners[str(label)] = str(owner)
        kinds[str(label)] = str(kind)
        if privilege is not None and grantee != owner:
            privileges.add(Privilege(str(label), str(grantee), str(privilege), bool(grantable)))
    column_set: set[tuple[str, str]] = set()
    for table, column, grantee, privilege, grantable in columns:
        column_set.add((str(table), str(column)))
        if privilege is not None and grantee != owners.get(str(table)):
            privileges.add(
                Privilege(str(table), str(grantee), str(privilege), bool(grantable), str(column))
            )
    states: dict[str, tuple[bool, bool]] = {}
    policies: set[Policy] = set()
    for table, enabled, forced, name, command, permissive, roles, using, check in rls:
        states[str(table)] = (bool(enabled), bool(forced))
        if name is not None:
            policies.add(
                Policy(
                    table=str(table),
                    name=str(name),
                    command=_COMMANDS.get(str(command), str(command)),
                    roles=tuple(str(r) for r in roles),
                    permissive=bool(permissive),
                    using=None if using is None else str(using),
                    with_check=None if check is None else str(check),
                )
            )
    return AccessState(
        owners=owners,
        kinds=kinds,
        columns=frozenset(column_set),
        privileges=frozenset(privileges),
        rls=states,
        policies=frozenset(policies),
        defaults=frozenset(
            DefaultPrivilege(
                str(role),
                None if schema is None else str(schema),
                _DEFAULT_OBJECTS.get(str(objtype), str(objtype)),
                str(grantee),
                str(privilege),
                bool(grantable),
            )
            for role, schema, objtype, grantee, privilege, grantable in defaults
            if grantee != role
        ),
        memberships=frozenset(
            Membership(str(member), str(role), bool(admin)) for member, role, admin in memberships
        ),
        triggers={(str(t), str(name)): str(state) for t, name, state in triggers},
    )


@cache
def runtime_roles(fixtures: Path | None = None) -> frozenset[str] | None:
    """The runtime roles: those the pinned grant matrix describes (its ``role NAME`` lines).
    None when there is no such fixture yet (``fixtures update`` on a fresh checkout): then
    every role counts as one."""
    path = (fixtures if fixtures is not None else bundled_path("fixtures")) / GRANTS_FIXTURE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return frozenset(
        line.split("\t", 1)[0].removeprefix("role ")
        for line in text.splitlines()
        if line.startswith("role ")
    )


def errors(changes: Iterable[AccessChange]) -> tuple[AccessChange, ...]:
    return tuple(change for change in changes if change.error)


def delta(
    before: AccessState,
    after: AccessState,
    runtime: Collection[str] | None = None,
) -> tuple[AccessChange, ...]:
    """What changed from ``before`` to ``after``, judged against the access contract (see the
    module's doc). ``runtime``: the runtime roles (None: every role counts as one)."""
    judge = _Judge(before, after, runtime)
    return (
        *judge.owners(),
        *judge.privileges(),
        *judge.default_privileges(),
        *judge.row_security(),
        *judge.policies(),
        *judge.memberships(),
        *judge.triggers(),
    )


def _info(kind: str, obj: str, text: str, roles: Iterable[str] = ()) -> AccessChange:
    return AccessChange(kind, obj, text, "info", "", tuple(sorted(roles)))


def _error(kind: str, obj: str, text: str, why: str, roles: Iterable[str] = ()) -> AccessChange:
    return AccessChange(kind, obj, text, "error", why, tuple(sorted(roles)))


def _names(privileges: Iterable[str]) -> str:
    return ", ".join(sorted(privileges))


_Key = tuple[str, str | None, str]
"""(object, column, grantee)."""


def _grouped(state: AccessState) -> dict[_Key, set[tuple[str, bool]]]:
    out: dict[_Key, set[tuple[str, bool]]] = defaultdict(set)
    for p in state.privileges:
        out[(p.object, p.column, p.grantee)].add((p.privilege, p.grantable))
    return out


# Why a privilege change is an error (empty: it is not).
_RUNTIME_LOST = "runtime-lost"
_TO_PUBLIC = "public"
_NO_ACCESS = "no-access"
_WIDER = "wider"
_GRANT_OPTION = "grant-option"


@dataclass(frozen=True)
class _Grant:
    """One privilege change of one grantee on one object or column, before merging."""

    object: str
    column: str | None
    grantee: str
    verb: str
    """``grants``, ``grants (new)`` (on a new object), ``revokes``, ``revokes the grant
    option of``, ``gives the grant option of``."""
    privileges: frozenset[str]
    why: str
    """One of the reasons above, or empty."""


def _merged(found: Iterable[_Grant]) -> list[AccessChange]:
    """One change per object, verb, privileges and reason: columns first, then grantees."""
    by_columns: dict[tuple[str, str, str, frozenset[str], str], list[str]] = defaultdict(list)
    whole: list[tuple[str, tuple[str, ...], str, str, frozenset[str], str]] = []
    for g in found:
        if g.column is None:
            whole.append((g.object, (), g.grantee, g.verb, g.privileges, g.why))
        else:
            by_columns[(g.object, g.grantee, g.verb, g.privileges, g.why)].append(g.column)
    for (obj, grantee, verb, privileges, why), names in by_columns.items():
        whole.append((obj, tuple(sorted(names)), grantee, verb, privileges, why))
    by_grantees: dict[tuple[str, tuple[str, ...], str, frozenset[str], str], list[str]]
    by_grantees = defaultdict(list)
    for obj, cols, grantee, verb, privileges, why in whole:
        by_grantees[(obj, cols, verb, privileges, why)].append(grantee)
    out = []
    for (obj, cols, verb, privileges, why), grantees in sorted(
        by_grantees.items(),
        key=lambda item: (item[0][0], item[0][1], item[0][2], sorted(item[0][3]), item[0][4]),
    ):
        out.append(_privilege_change(obj, cols, tuple(sorted(grantees)), verb, privileges, why))
    return out


def _privilege_change(
    obj: str,
    columns: tuple[str, ...],
    grantees: tuple[str, ...],
    verb: str,
    privileges: frozenset[str],
    why: str,
) -> AccessChange:
    kind = "column privilege" if columns else "privilege"
    what = _names(privileges) + (f" ({', '.join(columns)})" if columns else "")
    who = ", ".join(grantees)
    new = verb == "grants (new)"
    on = f"on new {obj}" if new else f"on {obj}"
    if verb.startswith("grants"):
        text = f"grants {what} {on} to {who}"
    elif verb == "revokes":
        text = f"revokes {what} {on} from {who}"
    elif verb.startswith("gives"):
        text = f"gives {who} the grant option of {what} {on}"
    else:
        text = f"{verb} {what} {on} from {who}"
    reasons = {
        _RUNTIME_LOST: f"{who} held it and the service loses it",
        _TO_PUBLIC: "PUBLIC is every role, present and future (0008: PUBLIC gets nothing)",
        _NO_ACCESS: f"{who} held no privilege in the Gordon schemas before",
        _WIDER: f"{who} did not hold it on {obj}, which existed before: a wider access contract",
        _GRANT_OPTION: f"{who} may now grant it to any role",
    }
    if why:
        return _error(kind, obj, text, reasons[why], grantees)
    return _info(kind, obj, text, grantees)


class _Judge:
    def __init__(
        self, before: AccessState, after: AccessState, runtime: Collection[str] | None
    ) -> None:
        self.before = before
        self.after = after
        self._runtime = None if runtime is None else frozenset(runtime)
        self._had_any = {p.grantee for p in before.privileges}
        self._on_before = _by_object(before)
        self._on_after = _by_object(after)

    def runtime(self, role: str) -> bool:
        if role == PUBLIC:
            return False
        return self._runtime is None or role in self._runtime

    # --- owners ---------------------------------------------------------------------------

    def owners(self) -> list[AccessChange]:
        out = []
        for obj, owner in sorted(self.after.owners.items()):
            was = self.before.owners.get(obj)
            if was is None:
                if self.runtime(owner) and self._runtime is not None:
                    out.append(
                        _error(
                            "owner",
                            obj,
                            f"creates {self._kind(obj)}{obj} owned by {owner}",
                            f"{owner} is a runtime role: it would hold every privilege on "
                            "it and bypass its row level security; the migrating role owns "
                            "every Gordon object",
                            [owner],
                        )
                    )
            elif was != owner:
                out.append(
                    _error(
                        "owner",
                        obj,
                        f"changes the owner of {obj} from {was} to {owner}",
                        "the owner holds every privilege and bypasses row level security: "
                        f"{owner} gains them and {was} loses them",
                        [was, owner],
                    )
                )
        return out

    def _kind(self, obj: str) -> str:
        kind = self.after.kinds.get(obj) or self.before.kinds.get(obj, "")
        # A function's and a schema's kind is in the object's name already.
        return "" if kind in ("function", "schema", "") else f"{kind} "

    # --- privileges -----------------------------------------------------------------------

    def privileges(self) -> list[AccessChange]:
        """Per object and grantee, what was revoked or granted; the same change to several
        columns, then to several grantees, is one change."""
        old, new = _grouped(self.before), _grouped(self.after)
        found: list[_Grant] = []
        for key in old.keys() | new.keys():
            obj, column, grantee = key
            if not self._exists(self.after, obj, column):
                continue  # dropped: listed with what the statement dropped
            if grantee in (self.before.owners.get(obj), self.after.owners.get(obj)):
                continue  # an owner holds every privilege: its change is the owner's
            had, has = old.get(key, set()), new.get(key, set())
            if had == has:
                continue
            removed = frozenset({p for p, _ in had} - {p for p, _ in has})
            added = frozenset({p for p, _ in has} - {p for p, _ in had})
            if removed:
                why = _RUNTIME_LOST if self.runtime(grantee) else ""
                found.append(_Grant(obj, column, grantee, "revokes", removed, why))
            if added:
                found.append(self._grant(obj, column, grantee, added))
            lost = frozenset({p for p, g in had if g} - {p for p, g in has if g} - removed)
            won = frozenset({p for p, g in has if g} - {p for p, g in had if g} - added)
            if lost:
                found.append(_Grant(obj, column, grantee, "revokes the grant option of", lost, ""))
            if won:
                verb = "gives the grant option of"
                found.append(_Grant(obj, column, grantee, verb, won, _GRANT_OPTION))
        return _merged(found)

    def _exists(self, state: AccessState, obj: str, column: str | None) -> bool:
        if column is not None:
            return (obj, column) in state.columns
        return obj in state.owners

    def _grant(self, obj: str, column: str | None, grantee: str, added: frozenset[str]) -> _Grant:
        existed = self._exists(self.before, obj, column)
        verb = "grants" if existed else "grants (new)"
        if grantee == PUBLIC:
            return _Grant(obj, column, grantee, verb, added, _TO_PUBLIC)
        if not existed:
            why = "" if grantee in self._had_any else _NO_ACCESS
            return _Grant(obj, column, grantee, verb, added, why)
        if column is not None:
            table_level = {
                p.privilege
                for p in self._on_before.get(obj, ())
                if p.column is None and p.grantee == grantee
            }
            if added <= table_level:
                return _Grant(obj, column, grantee, verb, added, "")
        return _Grant(obj, column, grantee, verb, added, _WIDER)

    # --- default privileges ---------------------------------------------------------------

    def default_privileges(self) -> list[AccessChange]:
        # A role only one side knows was created or dropped: its defaults did not change.
        roles = {d.role for d in self.before.defaults} & {d.role for d in self.after.defaults}
        old = {d for d in self.before.defaults if d.role in roles}
        new = {d for d in self.after.defaults if d.role in roles}
        grouped: dict[tuple[str, str | None, str, str], list[tuple[str, DefaultPrivilege]]]
        grouped = defaultdict(list)
        for sign, changed in (("-", old - new), ("+", new - old)):
            for d in changed:
                grouped[(d.role, d.schema, d.objects, d.grantee)].append((sign, d))
        out = []
        for (role, schema, objects, grantee), rows in sorted(
            grouped.items(), key=lambda item: (item[0][0], item[0][1] or "", *item[0][2:])
        ):
            where = f" in schema {schema}" if schema else ""
            obj = f"default privileges of {role}{where} on {objects}"
            added = {d.privilege for sign, d in rows if sign == "+"}
            removed = {d.privilege for sign, d in rows if sign == "-"} - added
            if added:
                text = (
                    f"makes new {objects} {role} creates{where} grant {_names(added)} to {grantee}"
                )
                if grantee == PUBLIC or self.runtime(grantee):
                    why = (
                        f"every {objects[:-1]} created later grants it to {grantee} unseen: "
                        "a patch states its grants (0008)"
                    )
                    out.append(_error("default privileges", obj, text, why, [grantee]))
                else:
                    out.append(_info("default privileges", obj, text, [grantee]))
            if removed:
                text = (
                    f"makes new {objects} {role} creates{where} no longer grant "
                    f"{_names(removed)} to {grantee}"
                )
                out.append(_info("default privileges", obj, text, [grantee]))
        return out

    # --- row level security ---------------------------------------------------------------

    def row_security(self) -> list[AccessChange]:
        out = []
        for table in sorted(self.after.rls.keys() | self.before.rls.keys()):
            if table not in self.after.owners:
                continue
            was = self.before.rls.get(table, (False, False))
            now = self.after.rls.get(table, (False, False))
            lost = _uncovered(self.after, table, self._on_after) - _uncovered(
                self.before, table, self._on_before
            )
            lacking = ", ".join(
                f"{'its owner ' if owner else ''}{role} {_FILTERED[command]}"
                for role, command, owner in sorted(lost)
            )
            roles = sorted({role for role, _, _ in lost})
            if now[0] and not was[0]:
                text = f"enables row level security on {table}"
            elif now[1] and not was[1]:
                text = f"forces row level security on {table}"
            elif was[0] and not now[0]:
                readers = sorted(
                    {p.grantee for p in self._on_after.get(table, ()) if p.privilege in _FILTERED}
                )
                text = f"disables row level security on {table}"
                if readers:
                    why = f"{', '.join(readers)} now see and change every row, whoever's it is"
                    out.append(_error("row level security", table, text, why, readers))
                else:
                    out.append(_info("row level security", table, text))
                continue
            elif was[1] and not now[1]:
                out.append(
                    _info(
                        "row level security", table, f"stops forcing row level security on {table}"
                    )
                )
                continue
            elif lost:
                text = f"changes who row level security lets through on {table}"
            else:
                continue
            if lost:
                why = "a role without a permissive policy for a command sees or changes no row"
                if any(owner for _, _, owner in lost):
                    why += (
                        "; under FORCE that includes the owner: later migrations, operators "
                        "and the SECURITY DEFINER functions it owns"
                    )
                text = f"{text}: no policy lets {lacking}"
                out.append(_error("row level security", table, text, why, roles))
            else:
                out.append(_info("row level security", table, text))
        return out

    def policies(self) -> list[AccessChange]:
        old = {(p.table, p.name): p for p in self.before.policies}
        new = {(p.table, p.name): p for p in self.after.policies}
        out = []
        for key in sorted(old.keys() | new.keys()):
            table, name = key
            was, now = old.get(key), new.get(key)
            obj = f"policy {name} on {table}"
            if now is None:
                if table in self.after.owners:
                    out.append(_info("policy", obj, f"drops policy {name} on {table}"))
            elif was is None:
                out.append(_info("policy", obj, f"creates {_describe(now)}", now.roles))
            elif was != now:
                facets = [
                    facet
                    for facet, a, b in (
                        ("command", was.command, now.command),
                        ("roles", was.roles, now.roles),
                        ("permissive", was.permissive, now.permissive),
                        ("USING", was.using, now.using),
                        ("WITH CHECK", was.with_check, now.with_check),
                    )
                    if a != b
                ]
                text = f"changes policy {name} on {table} ({', '.join(facets)}): {_describe(now)}"
                out.append(_info("policy", obj, text, {*was.roles, *now.roles}))
        return out

    # --- memberships ----------------------------------------------------------------------

    def memberships(self) -> list[AccessChange]:
        old = {(m.member, m.role): m for m in self.before.memberships}
        new = {(m.member, m.role): m for m in self.after.memberships}
        out = []
        for key in sorted(old.keys() | new.keys()):
            member, role = key
            was, now = old.get(key), new.get(key)
            obj = f"role {role}"
            if was is None and now is not None:
                text = f"grants membership in {role} to {member}"
                if now.admin:
                    text += " WITH ADMIN OPTION"
                if self.runtime(member) or self.runtime(role) or role.startswith("pg_"):
                    why = f"{member} gains every privilege of {role}"
                    out.append(_error("membership", obj, text, why, [member, role]))
                else:
                    out.append(_info("membership", obj, text, [member, role]))
            elif now is None and was is not None:
                text = f"revokes membership in {role} from {member}"
                if self.runtime(member):
                    why = f"{member} is a runtime role and loses every privilege of {role}"
                    out.append(_error("membership", obj, text, why, [member, role]))
                else:
                    out.append(_info("membership", obj, text, [member, role]))
            elif was is not None and now is not None and was.admin != now.admin:
                verb = "gives" if now.admin else "takes"
                text = f"{verb} {member} the admin option of membership in {role}"
                out.append(_info("membership", obj, text, [member, role]))
        return out

    # --- triggers -------------------------------------------------------------------------

    def triggers(self) -> list[AccessChange]:
        out = []
        for key in sorted(self.after.triggers.keys() | self.before.triggers.keys()):
            table, name = key
            was, now = self.before.triggers.get(key), self.after.triggers.get(key)
            obj = f"trigger {name} on {table}"
            if now is None:
                if table in self.after.owners:
                    why = f"{table} stays, and what the trigger guarded or published is not done"
                    out.append(_error("trigger", obj, f"drops trigger {name} on {table}", why))
                continue
            if was == now or (was is None and now not in _NOT_FIRING):
                continue
            if was is None:
                text = f"creates trigger {name} on {table} {_TRIGGER_STATES[now]}"
            elif now == "D":
                text = f"disables trigger {name} on {table}"
            else:
                text = f"makes trigger {name} on {table} {_TRIGGER_STATES.get(now, now)}"
            if now in _NOT_FIRING:
                why = "it no longer fires in the services' sessions: what it guards is unguarded"
                out.append(_error("trigger", obj, text, why))
            else:
                out.append(_info("trigger", obj, text))
        return out


def _describe(policy: Policy) -> str:
    how = "permissive" if policy.permissive else "restrictive"
    parts = [f"policy {policy.name} on {policy.table}: {how}, {policy.command}"]
    parts.append(f"to {', '.join(policy.roles)}")
    if policy.using is not None:
        parts.append(f"USING ({policy.using})")
    if policy.with_check is not None:
        parts.append(f"WITH CHECK ({policy.with_check})")
    return " ".join(parts)


def _by_object(state: AccessState) -> dict[str, list[Privilege]]:
    out: dict[str, list[Privilege]] = defaultdict(list)
    for p in state.privileges:
        out[p.object].append(p)
    return out


def _uncovered(
    state: AccessState, table: str, on: Mapping[str, list[Privilege]]
) -> set[tuple[str, str, bool]]:
    """(role, command, is the owner) for each role that holds a command's privilege on
    ``table`` (on the table or a column) but no permissive policy for it lets through, while
    row level security is on; the owner too when it is forced (see the module's doc)."""
    enabled, forced = state.rls.get(table, (False, False))
    if not enabled:
        return set()
    owner = state.owners.get(table, "")
    member_of: dict[str, set[str]] = defaultdict(set)
    for m in state.memberships:
        member_of[m.member].add(m.role)
    permissive = [p for p in state.policies if p.table == table and p.permissive]

    def covered(role: str, command: str) -> bool:
        reach = {role, PUBLIC} | member_of.get(role, set())
        return any(p.command in (command, "ALL") and reach & set(p.roles) for p in permissive)

    out = set()
    for p in on.get(table, ()):
        mine = p.privilege in _FILTERED and p.grantee != owner
        if mine and not covered(p.grantee, p.privilege):
            out.add((p.grantee, p.privilege, False))
    if forced and not covered(owner, "SELECT"):
        out.add((owner, "SELECT", True))
    return out
