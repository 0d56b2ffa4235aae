"""The catalog queries of a snapshot: one per catalog, never one per object.

Everything is read from ``pg_catalog`` (``information_schema`` hides what the connected role
has no privilege on, and the drift reader has none), and names are qualified with ``%I`` so a
snapshot does not depend on OIDs or on the session's ``search_path``.

Every column is named (``AS``): the snapshot reads each query's rows by column name, as the
NamedTuple of ``rows`` for that query (``rows.named_row``), never by position.
"""

from __future__ import annotations

from gordon_migrate.drift.catalogs import (
    FIRST_USER_OID,
    MAPPED,
    SYSTEM_SCHEMAS,
    identity_catalogs,
)
from gordon_migrate.drift.model import THIS_DATABASE

_SYSTEM = ", ".join(f"'{name}'" for name in SYSTEM_SCHEMAS)
# Gordon schemas: every schema of the database except the system ones, matched by exact name
# (a superuser can create ``pg_x``, even ``pg_toastx``, with allow_system_table_mods).
# ``pg_temp_N`` and ``pg_toast_temp_N`` (exactly that form) belong to sessions.
_SCOPE = f"{{n}}.nspname NOT IN ({_SYSTEM}) AND {{n}}.nspname !~ '^pg_(toast_)?temp_[0-9]+$'"
SYSTEM_NAMESPACES = f"(SELECT s.oid FROM pg_namespace s WHERE s.nspname IN ({_SYSTEM}))"


def scope(alias: str) -> str:
    return _SCOPE.format(n=alias)


def in_scope(namespace: str) -> str:
    """``scope`` by a namespace OID, against the Gordon schemas' OIDs computed once (an
    InitPlan): where the namespace is joined in a nested loop, the planner, expecting one Gordon
    schema, would scan pg_class again for each (at 2,000 tables, COLUMNS 63 -> 40 ms, TRIGGERS
    6.7 -> 2 ms)."""
    return f"{namespace} = ANY (ARRAY(SELECT s.oid FROM pg_namespace s WHERE {scope('s')}))"


# Relations another session holds ACCESS EXCLUSIVE on (found by LOCKS, set per snapshot):
# the deparse functions (pg_get_indexdef, pg_get_expr, pg_get_viewdef...) open the relation
# and would wait for that lock, so their facets are not read there.
UNREADABLE_SETTING = "gordon_migrate.unreadable"
#: What a facet that could not be read says instead.
UNREAD = "<not read: relation locked>"


def readable(oid: str) -> str:
    # The setting in a scalar sub-select: parsed once per query, not once per row.
    return f"NOT ({oid} = ANY (CAST((SELECT current_setting('{UNREADABLE_SETTING}')) AS oid[])))"


def deparse(oid: str, expression: str) -> str:
    """``expression`` when the relation ``oid`` can be opened, else the UNREAD marker."""
    return f"CASE WHEN {readable(oid)} THEN {expression} ELSE '{UNREAD}' END"


# ACCESS EXCLUSIVE locks of other sessions on relations of this database (granted or queued:
# a queued one blocks a new reader too), with the holder; and the views and rules whose
# deparse would lock such a relation (their query reads it).
LOCKS = """
WITH held AS (
    SELECT l.relation, l.pid, l.granted
    FROM pg_locks l
    WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
      AND l.pid IS DISTINCT FROM pg_backend_pid()
      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
)
SELECT h.relation AS relation,
       coalesce(format('%I.%I', n.nspname, c.relname), h.relation::text) AS name,
       h.pid AS pid, h.granted AS granted,
       -- sub-selects, not a join: pg_stat_activity is only read when something is locked
       (SELECT a.usename::text FROM pg_stat_activity a WHERE a.pid = h.pid) AS user,
       (SELECT a.application_name::text FROM pg_stat_activity a WHERE a.pid = h.pid)
           AS application,
       NULL::oid AS through
FROM held h
LEFT JOIN pg_class c ON c.oid = h.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT DISTINCT r.ev_class, NULL, NULL::int, NULL::bool, NULL, NULL, d.refobjid
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                AND d.refclassid = 'pg_class'::regclass
WHERE d.refobjid IN (SELECT relation FROM held)
"""


def not_extension_member(catalog: str, oid: str) -> str:
    """Objects an extension created belong to the extension (listed as one entry). An
    uncorrelated NOT IN: the members are hashed once, not looked up row by row. A member's
    dependency ('e') always references its extension: naming pg_extension lets the members
    be found in pg_depend's reference index instead of a scan of all of pg_depend."""
    return (
        f"{oid} NOT IN (SELECT e.objid FROM pg_depend e WHERE e.classid = '{catalog}'::regclass "
        "AND e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e')"
    )


# The tool's bookkeeping in schema public is not schema: the history table (sqlx's) and the
# audit trail of recovery actions. Left out everywhere, with their columns, indexes, grants.
TOOL_TABLES = ("_sqlx_migrations", "gordon_migrate_audit")
TOOL_TABLE_NAMES = frozenset(f"public.{name}" for name in TOOL_TABLES)
AUDIT_TABLE_NAME = "public.gordon_migrate_audit"

HISTORY_OID = """
(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relname = '_sqlx_migrations')
"""


def not_tool_table(oid: str) -> str:
    names = ", ".join(f"'{name}'" for name in TOOL_TABLES)
    return (
        f"{oid} NOT IN (SELECT t.oid FROM pg_class t JOIN pg_namespace tn "
        f"ON tn.oid = t.relnamespace WHERE tn.nspname = 'public' AND t.relname IN ({names}))"
    )


CONTEXT = f"""
SELECT current_database()::text AS database,
       current_user::text AS user,
       coalesce(
           (SELECT pg_get_userbyid(c.relowner)::text FROM pg_class c
            WHERE c.oid = {HISTORY_OID}),
           (SELECT pg_get_userbyid(d.datdba)::text FROM pg_database d
            WHERE d.datname = current_database())) AS migrator,
       (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) AS superuser,
       {HISTORY_OID} IS NOT NULL AS has_history,
       (SELECT pg_get_userbyid(d.datdba)::text FROM pg_database d
        WHERE d.datname = current_database()) AS database_owner,
       pg_get_userbyid(10)::text AS bootstrap
"""

# What the connected role could write in the Gordon schemas (drift-check only reads).
WRITE_PRIVILEGES = f"""
SELECT 'superuser' AS access FROM pg_roles r WHERE r.rolname = current_user AND r.rolsuper
UNION ALL
SELECT 'CREATE on database ' || quote_ident(current_database())
WHERE has_database_privilege(current_database(), 'CREATE')
UNION ALL
(SELECT 'CREATE on schema ' || quote_ident(n.nspname) FROM pg_namespace n
 WHERE {scope("n")} AND has_schema_privilege(n.oid, 'CREATE') ORDER BY 1)
UNION ALL
(SELECT 'write access to ' || format('%I.%I', n.nspname, c.relname)
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE {scope("n")} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND (has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
        -- Column privileges only where a column's ACL could give them (to PUBLIC or a
        -- role whose privileges this one has): has_any_column_privilege reads every
        -- column of every table, and most hold no column grant for this role.
        OR (c.oid IN (SELECT a.attrelid FROM pg_attribute a, aclexplode(a.attacl) x
                      -- (said, or the plan looks up the empty ACL of every attribute)
                      WHERE a.attacl IS NOT NULL AND x.privilege_type IN ('INSERT', 'UPDATE')
                        AND CASE WHEN x.grantee = 0 THEN true
                                 ELSE pg_has_role(x.grantee, 'USAGE') END)
            AND has_any_column_privilege(c.oid, 'INSERT, UPDATE')))
 ORDER BY 1)
"""

SCHEMAS = f"""
SELECT quote_ident(n.nspname) AS name, pg_get_userbyid(n.nspowner)::text AS owner
FROM pg_namespace n
WHERE {scope("n")} AND {not_extension_member("pg_namespace", "n.oid")}
"""

# Every extension, plpgsql (initdb's) included: its members are pinned too, so an object
# added to it (ALTER EXTENSION ... ADD) cannot hide there.
EXTENSIONS = """
SELECT quote_ident(x.extname) AS name, x.extversion AS version, quote_ident(n.nspname) AS schema,
       CASE WHEN x.extowner = 10 THEN NULL ELSE pg_get_userbyid(x.extowner)::text END AS owner
FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
"""

EXTENSION_MEMBERS = """
SELECT quote_ident(x.extname) AS extension, i.type AS type, i.identity AS identity
FROM pg_depend d
JOIN pg_extension x ON x.oid = d.refobjid,
     pg_identify_object(d.classid, d.objid, d.objsubid) i
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
"""

# After a lock timeout: who holds or waits for ACCESS EXCLUSIVE on a relation. Functions only
# (no table is planned, so a locked catalog cannot block this too): the name through regclass
# (a cache lookup), the user through pg_stat_get_activity.
HOLDERS = """
SELECT l.relation::regclass::text AS relation, l.pid AS pid, l.granted AS granted,
       (SELECT pg_get_userbyid(s.usesysid)::text FROM pg_stat_get_activity(l.pid) s) AS user
FROM pg_lock_status() l
WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
  AND l.pid IS DISTINCT FROM pg_backend_pid()
  AND l.database IN (0, (SELECT s.datid FROM pg_stat_get_activity(pg_backend_pid()) s))
ORDER BY 1, 2
"""

# The biggest results (relations, columns, constraints, indexes) come in the order of their
# snapshot lines (byte order, as Python compares strings): the snapshot's final sort then
# merges a few long runs instead of sorting 100,000 lines from scratch (5x cheaper at 5,000
# tables). Only speed depends on it.

RELATIONS = f"""
SELECT c.relkind::text AS relkind,
       format('%I.%I', n.nspname, c.relname) AS name,
       pg_get_userbyid(c.relowner)::text AS owner,
       c.relpersistence::text AS persistence,
       c.relrowsecurity AS rls,
       c.relforcerowsecurity AS force_rls,
       coalesce(array_to_string(ARRAY(SELECT o FROM unnest(c.reloptions) o ORDER BY o), ', '), '')
           AS options,
       c.relreplident::text AS replident,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
       (SELECT string_agg(format('%I.%I', pn.nspname, pc.relname)
                          || CASE WHEN i.inhdetachpending THEN ' (detach pending)' ELSE '' END,
                          ', ' ORDER BY i.inhseqno)
        FROM pg_inherits i
        JOIN pg_class pc ON pc.oid = i.inhparent
        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
        WHERE i.inhrelid = c.oid) AS inherits,
       CASE WHEN c.relispartition THEN {deparse("c.oid", "pg_get_expr(c.relpartbound, c.oid)")}
       END AS bound,
       CASE WHEN c.relkind IN ('v', 'm') THEN {deparse("c.oid", "pg_get_viewdef(c.oid, true)")}
       END AS viewdef,
       CASE WHEN am.amname <> 'heap' THEN am.amname::text END AS access_method,
       CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END AS of_type,
       format_type(s.seqtypid, NULL) AS seqtype,
       s.seqstart AS seq_start, s.seqincrement AS seq_increment, s.seqmin AS seq_min,
       s.seqmax AS seq_max, s.seqcache AS seq_cache, s.seqcycle AS seq_cycle,
       CASE WHEN c.relkind = 'S' THEN
       (SELECT format('%I.%I.%I', tn.nspname, tc.relname, a.attname)
               || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
        FROM pg_depend d
        JOIN pg_class tc ON tc.oid = d.refobjid
        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LIMIT 1) END AS owned_by
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND {scope("n")}
  AND {not_extension_member("pg_class", "c.oid")}
ORDER BY format('%I.%I', n.nspname, c.relname) COLLATE "C"
"""

COLUMNS = f"""
SELECT c.relkind::text AS relkind,
       format('%I.%I.%I', n.nspname, c.relname, a.attname) AS name,
       row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS notnull,
       a.attidentity::text AS identity,
       a.attgenerated::text AS generated,
       -- A default cannot reference columns: deparsed without its relation (no lock, and
       -- far cheaper); only a generated column's expression needs the relation.
       CASE WHEN ad.adbin IS NULL THEN NULL
            WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0)
            ELSE {deparse("ad.adrelid", "pg_get_expr(ad.adbin, ad.adrelid)")} END AS default,
       CASE WHEN a.attcollation <> t.typcollation THEN
           (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
            JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
       END AS collation
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  -- A view's column is listed only with a default (ALTER VIEW ... SET DEFAULT), which an
  -- INSERT through the view or a rule takes: the migrations give none.
  AND (c.relkind IN ('r', 'p', 'f', 'c') OR (c.relkind = 'v' AND ad.adbin IS NOT NULL))
  AND {in_scope("c.relnamespace")}
  AND {not_extension_member("pg_class", "c.oid")}
  AND (c.relkind <> 'c' OR {not_extension_member("pg_type", "c.reltype")})
  AND {not_tool_table("c.oid")}
ORDER BY format('%I.%I.%I', n.nspname, c.relname, a.attname) COLLATE "C"
"""

# contype 'n' (PG 18 stores NOT NULL as constraints; attnotnull says the same on every
# version) and 't' (constraint triggers: listed with the triggers) are left out.
CONSTRAINTS = f"""
SELECT CASE WHEN co.conrelid <> 0 THEN format('%I.%I', rn.nspname, rc.relname)
            ELSE format('%I.%I', tn.nspname, ty.typname) END AS owner,
       co.contypid <> 0 AS on_domain,
       quote_ident(co.conname) AS name,
       {deparse("co.conrelid", "pg_get_constraintdef(co.oid, true)")} AS definition
FROM pg_constraint co
JOIN pg_namespace n ON n.oid = co.connamespace
LEFT JOIN pg_class rc ON rc.oid = co.conrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_type ty ON ty.oid = co.contypid
LEFT JOIN pg_namespace tn ON tn.oid = ty.typnamespace
WHERE co.contype NOT IN ('n', 't')
  AND {scope("n")}
  AND (co.conrelid = 0 OR {not_extension_member("pg_class", "co.conrelid")})
  AND (co.contypid = 0 OR {not_extension_member("pg_type", "co.contypid")})
  AND {not_tool_table("co.conrelid")}
ORDER BY format('%I.%I.%I', coalesce(rn.nspname, tn.nspname), coalesce(rc.relname, ty.typname),
                co.conname) COLLATE "C"
"""

# pg_get_indexdef looks up the default operator class of every key column by a scan of
# pg_opclass, and the access method's handler, index by index: half the query's time at 5,000
# tables. A plain index (key columns only, in their default operator class, collation and
# order; no expression, predicate, options or INCLUDE; not on a partitioned table, which
# prints ON ONLY) is written here exactly as pg_get_indexdef writes it; any other goes to
# pg_get_indexdef. The fixtures and the drift tests compare the two.
PLAIN_INDEXDEF = """CASE WHEN s.plain AND i.indexprs IS NULL AND i.indpred IS NULL
              AND ic.reloptions IS NULL AND i.indnkeyatts = i.indnatts
              AND NOT i.indnullsnotdistinct AND tc.relkind <> 'p'
         THEN format('CREATE %sINDEX %I ON %I.%I USING %I (%s)',
                     CASE WHEN i.indisunique THEN 'UNIQUE ' END,
                     ic.relname, tn.nspname, tc.relname, am.amname, s.columns)
         ELSE pg_get_indexdef(i.indexrelid) END"""
INDEXES = f"""
SELECT format('%I.%I', n.nspname, ic.relname) AS name,
       CASE WHEN {readable("i.indexrelid")} THEN
           {deparse("i.indrelid", PLAIN_INDEXDEF)} ELSE '{UNREAD}' END AS definition,
       i.indisvalid AND i.indisready AND i.indislive AS valid,
       i.indisreplident AS replident
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
JOIN pg_am am ON am.oid = ic.relam
CROSS JOIN LATERAL (
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n) AS columns,
           bool_and(o.opcdefault AND o.opcintype = a.atttypid AND i.indoption[k.n - 1] = 0
                    AND i.indcollation[k.n - 1] IN (0, a.attcollation)) AS plain
    FROM unnest(CAST(i.indkey AS int2[])) WITH ORDINALITY k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    LEFT JOIN pg_opclass o ON o.oid = i.indclass[k.n - 1]) s
WHERE {scope("n")}
  AND {not_extension_member("pg_class", "i.indrelid")}
  AND {not_tool_table("i.indrelid")}
ORDER BY format('%I.%I', n.nspname, ic.relname) COLLATE "C"
"""

FUNCTIONS = f"""
SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
           AS name,
       p.proname::text AS proname,
       p.prokind::text AS prokind,
       pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result,
       l.lanname::text AS language,
       p.provolatile::text AS volatility,
       p.proisstrict AS strict,
       p.prosecdef AS secdef,
       p.proleakproof AS leakproof,
       p.proparallel::text AS parallel,
       p.procost::float8 AS cost,
       p.prorows::float8 AS rows,
       coalesce(array_to_string(ARRAY(SELECT s FROM unnest(p.proconfig) s ORDER BY s), E'\\n'), '')
           AS config,
       CASE WHEN p.prosqlbody IS NULL THEN p.prosrc END AS body,
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END AS sqlbody,
       pg_get_userbyid(p.proowner)::text AS owner,
       CASE WHEN p.prosupport <> 0 THEN p.prosupport::regproc::text END AS support,
       p.probin AS library
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE {scope("n")} AND {not_extension_member("pg_proc", "p.oid")}
  -- A range type's (multirange) constructors are made with the type and go with it.
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'i')
"""

TRIGGERS = f"""
SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
       quote_ident(t.tgname) AS name,
       CASE WHEN NOT t.tgisinternal THEN {deparse("t.tgrelid", "pg_get_triggerdef(t.oid, true)")}
       END AS definition,
       t.tgenabled::text AS enabled,
       p.proname::text AS proname,
       format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
           AS function,
       t.tgnargs AS nargs,
       t.tgargs AS args,
       t.tgisinternal AS internal,
       (SELECT quote_ident(co.conname) FROM pg_constraint co WHERE co.oid = t.tgconstraint)
           AS constraint_name
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE (NOT t.tgisinternal OR t.tgenabled <> 'O')
  AND {in_scope("c.relnamespace")}
  AND {not_extension_member("pg_class", "c.oid")}
"""

POLICIES = f"""
SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
       quote_ident(pol.polname) AS name,
       pol.polcmd::text AS command,
       pol.polpermissive AS permissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
             FROM unnest(pol.polroles) r) AS roles,
       CASE WHEN pol.polqual IS NOT NULL THEN
           {deparse("pol.polrelid", "pg_get_expr(pol.polqual, pol.polrelid)")} END AS using,
       CASE WHEN pol.polwithcheck IS NOT NULL THEN
           {deparse("pol.polrelid", "pg_get_expr(pol.polwithcheck, pol.polrelid)")} END
           AS with_check
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {scope("n")}
"""

TYPES = f"""
SELECT format('%I.%I', n.nspname, t.typname) AS name,
       t.typtype::text AS typtype,
       pg_get_userbyid(t.typowner)::text AS owner,
       CASE WHEN t.typtype = 'e' THEN
           ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                 ORDER BY e.enumsortorder) END AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
       t.typnotnull AS notnull,
       pg_get_expr(t.typdefaultbin, 0) AS default,
       CASE WHEN t.typtype = 'r' THEN
           (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) END
           AS subtype,
       CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 AND t.typcollation IS DISTINCT FROM
                 (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype) THEN
           (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
            JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation)
       END AS collation
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE t.typtype IN ('e', 'd', 'r', 'c', 'b', 'p')
  AND (t.typtype <> 'c' OR c.relkind = 'c')
  AND NOT (t.typtype = 'b' AND t.typcategory = 'A' AND t.typelem <> 0)
  AND {scope("n")}
  AND {not_extension_member("pg_type", "t.oid")}
"""

RULES = f"""
SELECT format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(r.rulename) AS name,
       {deparse("r.ev_class", "pg_get_ruledef(r.oid, true)")} AS definition,
       r.ev_enabled::text AS enabled
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND {scope("n")}
"""

STATISTICS = f"""
SELECT format('%I.%I', n.nspname, s.stxname) AS name,
       {deparse("s.stxrelid", "pg_get_statisticsobjdef(s.oid)")} AS definition,
       pg_get_userbyid(s.stxowner)::text AS owner
FROM pg_statistic_ext s
JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE {scope("n")}
"""


def _generic_from(name: str) -> str:
    """FROM and WHERE of one generic catalog (see ``catalogs``): its objects in scope."""
    entry = _CATALOGS[name]
    conditions = [not_extension_member(name, "x.oid")]
    if entry.namespace:
        conditions.append(
            f"x.{entry.namespace} IN (SELECT n.oid FROM pg_namespace n WHERE {scope('n')})"
        )
    else:
        conditions.append(f"x.oid >= {FIRST_USER_OID}")
    if entry.where:
        conditions.append(entry.where)
    if name == "pg_cast":
        # A range type's casts to its multirange are made with it and go with it.
        conditions.append(
            "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_cast'::regclass "
            "AND d.objid = x.oid AND d.deptype = 'i')"
        )
    source = entry.source or f"pg_catalog.{name}"
    return (
        f"FROM {source} x, pg_identify_object('{name}'::regclass, x.oid, 0) i "
        f"WHERE {' AND '.join(conditions)}"
    )


_CATALOGS = dict(identity_catalogs(150000))


def _generic_objects() -> str:
    parts = []
    for name, entry in _CATALOGS.items():
        if not entry.listed:
            continue
        owner = f"pg_get_userbyid(x.{entry.owner})::text" if entry.owner else "NULL::text"
        facets = ", ".join(f"'{facet}', ({expr})::text" for facet, expr in entry.facets)
        parts.append(
            f"SELECT i.type AS type, i.identity AS identity, {owner} AS owner, "
            f"ARRAY[{facets}]::text[] AS facets {_generic_from(name)}"
        )
    return "\nUNION ALL\n".join(parts)


def _generic_acls() -> str:
    parts = []
    for name, entry in _CATALOGS.items():
        if entry.acl is None:
            continue
        column, kind = entry.acl
        owner = f"x.{entry.owner}" if entry.owner else "10::oid"
        parts.append(
            f"    UNION ALL SELECT i.type, i.identity, {owner}, "
            f"coalesce(x.{column}, acldefault('{kind}', {owner})) {_generic_from(name)}"
        )
    return "\n".join(parts)


#: Objects of every generic catalog: (type, identity, owner, [facet, value, ...]).
GENERIC = _generic_objects()

# This database: its options, and the settings of every session in it — for all roles (ALTER
# DATABASE ... SET, which ALTER ROLE ALL IN DATABASE ... SET also writes), for all roles in
# all databases (ALTER ROLE ALL SET), and for each role in it (ALTER ROLE r IN DATABASE).
DATABASE = """
SELECT d.datconnlimit AS connection_limit, d.datallowconn AS allow_connections,
       d.datistemplate AS is_template,
       ARRAY(SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
             WHERE s.setrole = 0 AND s.setdatabase = d.oid) AS settings,
       ARRAY(SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
             WHERE s.setrole = 0 AND s.setdatabase = 0) AS everywhere
FROM pg_database d WHERE d.datname = current_database()
"""

ROLE_SETTINGS_HERE = """
SELECT pg_get_userbyid(s.setrole)::text AS role, c AS setting
FROM pg_db_role_setting s, unnest(s.setconfig) c
WHERE s.setrole <> 0
  AND s.setdatabase = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
"""

# Privileges on every object, defaults made explicit (a NULL ACL means the built-in default).
GRANTS = f"""
WITH objects(kind, name, owner, acl) AS (
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                          ELSE 'table' END,
           format('%I.%I', n.nspname, c.relname),
           c.relowner,
           coalesce(c.relacl,
                    acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END,
                               c.relowner))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {scope("n")}
      AND {not_extension_member("pg_class", "c.oid")}
    UNION ALL
    SELECT 'schema', quote_ident(n.nspname), n.nspowner,
           coalesce(n.nspacl, acldefault('n', n.nspowner))
    FROM pg_namespace n WHERE {scope("n")} AND {not_extension_member("pg_namespace", "n.oid")}
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
           format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           p.proowner,
           coalesce(p.proacl, acldefault('f', p.proowner))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE {scope("n")} AND {not_extension_member("pg_proc", "p.oid")}
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
           format('%I.%I', n.nspname, t.typname),
           t.typowner,
           coalesce(t.typacl, acldefault('T', t.typowner))
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_class c ON c.oid = t.typrelid
    WHERE t.typtype IN ('e', 'd', 'r', 'c', 'b', 'p') AND (t.typtype <> 'c' OR c.relkind = 'c')
      AND NOT (t.typtype = 'b' AND t.typcategory = 'A' AND t.typelem <> 0)
      AND {scope("n")} AND {not_extension_member("pg_type", "t.oid")}
    UNION ALL
    SELECT 'database', '{THIS_DATABASE}', d.datdba, coalesce(d.datacl, acldefault('d', d.datdba))
    FROM pg_database d WHERE d.datname = current_database()
{_generic_acls()}
)
SELECT o.kind AS kind, o.name AS name, pg_get_userbyid(o.owner)::text AS owner,
       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END
           AS grantee,
       pg_get_userbyid(g.grantor)::text AS grantor,
       g.privileges AS privileges,
       g.is_grantable AS grantable
FROM objects o,
     -- Grouped ACL by ACL (a few items each), not as one sort of every exploded item by
     -- object name: half the query's time at 5,000 tables.
     LATERAL (SELECT x.grantee, x.grantor, x.is_grantable,
                     array_agg(x.privilege_type::text) AS privileges
              FROM aclexplode(o.acl) x
              GROUP BY x.grantee, x.grantor, x.is_grantable) g
"""

COLUMN_GRANTS = f"""
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                      WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind,
       format('%I.%I.%I', n.nspname, c.relname, a.attname) AS name,
       pg_get_userbyid(c.relowner)::text AS owner,
       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END
           AS grantee,
       pg_get_userbyid(g.grantor)::text AS grantor,
       g.privileges AS privileges,
       g.is_grantable AS grantable
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace,
     -- Grouped ACL by ACL, as in GRANTS.
     LATERAL (SELECT x.grantee, x.grantor, x.is_grantable,
                     array_agg(x.privilege_type::text) AS privileges
              FROM aclexplode(a.attacl) x
              GROUP BY x.grantee, x.grantor, x.is_grantable) g
WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  AND {scope("n")}
"""

# Defaults for objects created later. A schema-less row (namespace 0) holds the whole default
# ACL of that object type; a schema row only what it adds. An empty ACL still gives one row.
DEFAULT_ACLS = f"""
SELECT pg_get_userbyid(d.defaclrole)::text AS role,
       CASE WHEN d.defaclnamespace <> 0 THEN quote_ident(n.nspname) END AS schema,
       d.defaclobjtype::text AS objtype,
       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END
           AS grantee,
       pg_get_userbyid(x.grantor)::text AS grantor,
       x.privilege_type AS privilege,
       x.is_grantable AS grantable
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
LEFT JOIN LATERAL aclexplode(d.defaclacl) x ON true
WHERE d.defaclnamespace = 0 OR {scope("n")}
"""

# Role attributes (pg_roles: readable without privileges), with this database's settings.
ROLES = """
SELECT r.rolname::text AS name, r.oid = 10 AS bootstrap, r.rolsuper AS superuser,
       r.rolinherit AS inherit, r.rolcreaterole AS createrole, r.rolcreatedb AS createdb,
       r.rolcanlogin AS login, r.rolreplication AS replication, r.rolbypassrls AS bypassrls,
       r.rolconnlimit AS connection_limit,
       -- No expiry and 'infinity' mean the same: never expires.
       CASE WHEN r.rolvaliduntil IS NOT NULL AND r.rolvaliduntil <> 'infinity'
            THEN r.rolvaliduntil::text END AS valid_until,
       ARRAY(SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
             WHERE s.setrole = r.oid AND s.setdatabase = 0) AS settings
FROM pg_roles r
WHERE r.rolname !~ '^pg_'
"""

MEMBERSHIPS = """
SELECT pg_get_userbyid(m.member)::text AS member, pg_get_userbyid(m.roleid)::text AS granted,
       m.admin_option AS admin, m.inherit_option AS inherit, m.set_option AS set_option
FROM pg_auth_members m
"""

# PostgreSQL 15 has no per-grant INHERIT/SET: a grant inherits as the member does.
MEMBERSHIPS_PG15 = """
SELECT pg_get_userbyid(m.member)::text AS member, pg_get_userbyid(m.roleid)::text AS granted,
       m.admin_option AS admin, mr.rolinherit AS inherit, true AS set_option
FROM pg_auth_members m JOIN pg_roles mr ON mr.oid = m.member
"""

# PostgreSQL 18 keeps NOT NULL as constraints, which can be NOT VALID (the column still reads
# attnotnull while a NULL row exists) or NO INHERIT. Only those are listed: the usual state is
# what "not null: yes" says on every version. (No rows before 18: contype 'n' is new there.)
NOT_NULLS = f"""
SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname) AS name,
       co.convalidated AS validated, co.connoinherit AS no_inherit
FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
WHERE co.contype = 'n' AND (NOT co.convalidated OR co.connoinherit)
  AND {scope("n")} AND {not_tool_table("c.oid")}
"""

# --- PostgreSQL's own objects -------------------------------------------------------------------

_BUILT_IN = f"< {FIRST_USER_OID}"


def _is_member(catalog: str, oid: str) -> str:
    return (
        f"{oid} IN (SELECT e.objid FROM pg_depend e WHERE e.classid = '{catalog}'::regclass "
        "AND e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e')"
    )


def _init_join(catalog: str, oid: str, sub: str = "0") -> str:
    return (
        f"LEFT JOIN pg_init_privs ip ON ip.objoid = {oid} "
        f"AND ip.classoid = '{catalog}'::regclass AND ip.objsubid = {sub}"
    )


def _built_in(catalog: str, columns: str, key: str = "oid", member_of: str = "") -> str:
    """The rows of ``catalog`` initdb or an extension made: a range scan of the OID index
    below the first normal OID, plus the (few) extension members above it."""
    owner = member_of or catalog
    return (
        f"(SELECT {columns} FROM {catalog} WHERE {key} {_BUILT_IN} UNION ALL "
        f"SELECT {columns} FROM {catalog} WHERE {key} >= {FIRST_USER_OID} "
        f"AND {_is_member(owner, key)})"
    )


_PROC_COLUMNS = "oid, proname, pronamespace, prokind, proargtypes, proowner, proacl"


def _differs(acl: str) -> str:
    # A NULL ACL with no initial privileges recorded is the default on both sides: skipped
    # before anything is computed (most built-in objects).
    return f"({acl} IS NOT NULL OR ip.initprivs IS NOT NULL)"


# Privileges of every object initdb or an extension made, against what they were given
# (pg_init_privs; a NULL ACL without a row there: the built-in default). Only the objects that
# differ, both sides exploded: (kind, name, owner, side, grantee, grantor, privileges,
# grantable). Schema public is left out: the migrations set its privileges (grant matrix).
# information_schema is loaded after initdb records pg_init_privs: its objects' privileges are
# listed whenever they are not the default, and compared with those pinned per major instead.
BUILTIN_ACLS = f"""
WITH objects(kind, name, owner, acl, init) AS (
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                          ELSE 'table' END,
           format('%I.%I', n.nspname, c.relname), c.relowner,
           coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char"
                                         ELSE 'r'::"char" END, c.relowner)),
           coalesce(ip.initprivs,
                    acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END,
                               c.relowner))
    FROM {_built_in("pg_class", "oid, relname, relnamespace, relkind, relowner, relacl")} c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    {_init_join("pg_class", "c.oid")}
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_differs("c.relacl")}
    UNION ALL
    SELECT 'column', format('%I.%I.%I', n.nspname, c.relname, a.attname), c.relowner,
           -- No privileges: NULL (an empty ACL array has no dimension, which aclexplode
           -- refuses).
           CASE WHEN cardinality(a.attacl) > 0 THEN a.attacl END,
           CASE WHEN cardinality(ip.initprivs) > 0 THEN ip.initprivs END
    FROM {_built_in("pg_attribute", "attrelid, attname, attnum, attacl", "attrelid", "pg_class")} a
    JOIN {_built_in("pg_class", "oid, relname, relnamespace, relowner")} c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    {_init_join("pg_class", "c.oid", "a.attnum")}
    WHERE a.attnum > 0 AND {_differs("a.attacl")}
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
           format('%I.%I(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)),
           p.proowner, coalesce(p.proacl, acldefault('f', p.proowner)),
           coalesce(ip.initprivs, acldefault('f', p.proowner))
    FROM {_built_in("pg_proc", _PROC_COLUMNS)} p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    {_init_join("pg_proc", "p.oid")}
    WHERE {_differs("p.proacl")}
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
           format('%I.%I', n.nspname, t.typname), t.typowner,
           coalesce(t.typacl, acldefault('T', t.typowner)),
           coalesce(ip.initprivs, acldefault('T', t.typowner))
    FROM {_built_in("pg_type", "oid, typname, typnamespace, typtype, typowner, typacl")} t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    {_init_join("pg_type", "t.oid")}
    WHERE {_differs("t.typacl")}
    UNION ALL
    SELECT 'schema', quote_ident(n.nspname), n.nspowner,
           coalesce(n.nspacl, acldefault('n', n.nspowner)),
           coalesce(ip.initprivs, acldefault('n', n.nspowner))
    FROM {_built_in("pg_namespace", "oid, nspname, nspowner, nspacl")} n
    {_init_join("pg_namespace", "n.oid")}
    WHERE n.nspname <> 'public' AND {_differs("n.nspacl")}
    UNION ALL
    SELECT 'language', quote_ident(l.lanname), l.lanowner,
           coalesce(l.lanacl, acldefault('l', l.lanowner)),
           coalesce(ip.initprivs, acldefault('l', l.lanowner))
    FROM {_built_in("pg_language", "oid, lanname, lanowner, lanacl")} l
    {_init_join("pg_language", "l.oid")}
    WHERE {_differs("l.lanacl")}
), differing AS (
    SELECT * FROM objects o
    WHERE o.acl IS DISTINCT FROM o.init
      AND ARRAY(SELECT x::text FROM unnest(o.acl) x ORDER BY 1)
          <> ARRAY(SELECT x::text FROM unnest(o.init) x ORDER BY 1)
)
SELECT d.kind AS kind, d.name AS name, pg_get_userbyid(d.owner)::text AS owner, s.side AS side,
       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END
           AS grantee,
       pg_get_userbyid(g.grantor)::text AS grantor,
       g.privileges AS privileges, g.is_grantable AS grantable
FROM differing d,
     LATERAL (VALUES ('now', d.acl), ('initdb', d.init)) s(side, acl),
     LATERAL (SELECT x.grantee, x.grantor, x.is_grantable,
                     array_agg(x.privilege_type::text) AS privileges
              FROM aclexplode(s.acl) x
              GROUP BY x.grantee, x.grantor, x.is_grantable) g
"""

# Objects in a system schema (exact names) that initdb did not make: OID at or above the first
# normal OID. TOAST tables and their indexes in pg_toast belong to the tables they serve.
_SYSTEM_OBJECT_SOURCES = (
    ("pg_class", "relnamespace", "NOT (x.relkind IN ('t', 'i') AND x.relnamespace = 99)"),
    ("pg_proc", "pronamespace", None),
    ("pg_type", "typnamespace", None),
    ("pg_operator", "oprnamespace", None),
    ("pg_opclass", "opcnamespace", None),
    ("pg_opfamily", "opfnamespace", None),
    ("pg_collation", "collnamespace", None),
    ("pg_conversion", "connamespace", None),
    ("pg_constraint", "connamespace", None),
    ("pg_statistic_ext", "stxnamespace", None),
    ("pg_ts_config", "cfgnamespace", None),
    ("pg_ts_dict", "dictnamespace", None),
    ("pg_ts_parser", "prsnamespace", None),
    ("pg_ts_template", "tmplnamespace", None),
)
_SYSTEM_RELATION_PARTS = (
    ("pg_trigger", "tgrelid"),
    ("pg_policy", "polrelid"),
    ("pg_rewrite", "ev_class"),
    ("pg_attrdef", "adrelid"),
)


def _system_objects() -> str:
    parts = []
    for catalog, namespace, extra in _SYSTEM_OBJECT_SOURCES:
        condition = f"x.oid >= {FIRST_USER_OID} AND x.{namespace} IN {SYSTEM_NAMESPACES}"
        if extra:
            condition += f" AND {extra}"
        parts.append(
            f"SELECT '{catalog}'::regclass AS catalog, x.oid FROM {catalog} x WHERE {condition}"
        )
    for catalog, relation in _SYSTEM_RELATION_PARTS:
        parts.append(
            f"SELECT '{catalog}'::regclass, x.oid FROM {catalog} x WHERE x.oid >= "
            f"{FIRST_USER_OID} AND x.{relation} IN (SELECT r.oid FROM pg_class r "
            f"WHERE r.relnamespace IN {SYSTEM_NAMESPACES})"
        )
    union = "\n    UNION ALL ".join(parts)
    return (
        "SELECT i.type AS type, i.identity AS identity\n"
        f"FROM (\n    {union}\n) o, pg_identify_object(o.catalog, o.oid, 0) i"
    )


SYSTEM_OBJECTS = _system_objects()

# The definition of every built-in function (initdb's: below the first normal OID), as a digest
# per function: compared with the digests pinned per PostgreSQL major (fixtures/builtins.pgNN.txt).
# The owner is written only when it is not the bootstrap superuser (named per cluster).
BUILTIN_FUNCTIONS = f"""
SELECT format('%I.%I(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)) AS name,
       left(md5(concat_ws(E'\\x1f', p.prosrc, p.probin, p.prosecdef, p.proleakproof,
                          p.proisstrict, p.provolatile, p.proparallel, p.prokind,
                          l.lanname, p.prorettype::regtype,
                          array_to_string(p.proconfig, E'\\x1f'),
                          CASE WHEN p.proowner <> 10 THEN pg_get_userbyid(p.proowner) END)),
            16) AS digest
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.oid {_BUILT_IN}
"""

# The built-in languages (initdb's) and how they run: CREATE OR REPLACE LANGUAGE can take away
# plpgsql's validator (bodies no longer checked), its inline handler (DO fails) or its trust.
# Compared with catalogs.BUILTIN_LANGUAGES: a line only for a language that differs.
BUILTIN_LANGUAGES = f"""
SELECT l.lanname::text AS name,
       concat_ws(', ', CASE WHEN l.lanpltrusted THEN 'trusted' ELSE 'untrusted' END,
                 CASE WHEN l.lanispl THEN 'procedural' END,
                 'handler ' || NULLIF(l.lanplcallfoid, 0)::regprocedure::text,
                 'inline ' || NULLIF(l.laninline, 0)::regprocedure::text,
                 'validator ' || NULLIF(l.lanvalidator, 0)::regprocedure::text) AS definition
FROM pg_language l
WHERE l.oid {_BUILT_IN}
"""

# The digest of them all, as ``snapshot.function_digest`` computes it from BUILTIN_FUNCTIONS:
# one row, compared with the pinned one first (the rows are read only when it differs).
BUILTIN_DIGEST = f"""
SELECT encode(sha256(convert_to(string_agg(f.name || E'\\t' || f.digest, E'\\n'
                                           ORDER BY f.name COLLATE "C"), 'UTF8')), 'hex')
           AS digest
FROM ({BUILTIN_FUNCTIONS}) f
"""

# The columns of every catalog and view the column map covers (catalogs.COLUMNS, VIEWS): one the
# map does not name is a column drift-check does not know what to do with.
_MAPPED_NAMES = ", ".join(f"'{name}'" for name in MAPPED)
CATALOG_COLUMNS = f"""
SELECT c.relname::text AS relation, array_agg(a.attname::text) AS columns
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relname IN ({_MAPPED_NAMES})
  AND a.attnum > 0 AND NOT a.attisdropped
GROUP BY c.relname
"""
