"""Every system catalog and what drift-check does with it: the one place that says so.

``CATALOGS`` names each table of ``pg_catalog`` and whether the snapshot covers it (with a
dedicated query, or generically: every object of the catalog named by ``pg_identify_object``,
with its owner and privileges) or ignores it on purpose, with the reason. A test compares
this map with the catalogs of the running server, so a catalog a new PostgreSQL major adds
fails the suite until someone decides here what it means for drift.

Generic ("identity") catalogs are read in one query built from this map: adding a catalog
with ``how="identity"`` is all it takes to cover a new kind of object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The first OID ``initdb`` leaves to users: an object at or above it was created after the
#: cluster was initialised (by the migrations, or out of band), never by PostgreSQL itself.
FIRST_USER_OID = 16384

How = Literal["snapshot", "identity", "ignored"]


@dataclass(frozen=True)
class Catalog:
    how: How
    #: For ``snapshot``: which part of the snapshot; for ``ignored``: why it is not drift.
    reason: str = ""
    #: Generic catalogs: the schema column (scoped to the Gordon schemas) — without one, the
    #: objects created after ``initdb`` (``FIRST_USER_OID``) are listed.
    namespace: str | None = None
    owner: str | None = None
    #: (ACL column, ``acldefault`` object type) when the catalog holds privileges.
    acl: tuple[str, str] | None = None
    #: Extra facets: (facet, SQL expression over the catalog row ``x``).
    facets: tuple[tuple[str, str], ...] = ()
    #: Extra condition on ``x`` (e.g. this database's subscriptions only).
    where: str | None = None
    #: Read from this relation instead (a catalog not readable by every role).
    source: str | None = None
    #: The PostgreSQL version that added the catalog (the generic query skips it before).
    since: int = 0
    #: Whether each object is listed (``False``: only its privileges are, those of the Gordon
    #: roles: a cluster-wide catalog that other applications share).
    listed: bool = True


def _snap(reason: str) -> Catalog:
    return Catalog("snapshot", reason)


def _ignored(reason: str) -> Catalog:
    return Catalog("ignored", reason)


CATALOGS: dict[str, Catalog] = {
    # --- dedicated queries (queries.py) ---
    "pg_namespace": _snap("schemas, owners, privileges"),
    "pg_class": _snap("tables, views, sequences, indexes, composite types; RLS flags, options"),
    "pg_attribute": _snap("columns, column privileges"),
    "pg_attrdef": _snap("column defaults and generated expressions"),
    "pg_constraint": _snap("constraints (NOT NULL through the column)"),
    "pg_index": _snap("index definitions and validity"),
    "pg_inherits": _snap("inheritance and partitions"),
    "pg_partitioned_table": _snap("partition keys"),
    "pg_sequence": _snap("sequence parameters"),
    "pg_proc": _snap("functions, procedures, aggregates, owners, privileges, settings, bodies"),
    "pg_aggregate": _snap(
        "aggregates are listed as functions of pg_proc (signature, owner, privileges)"
    ),
    "pg_trigger": _snap("triggers and the enabled state of every trigger, internal ones too"),
    "pg_policy": _snap("row level security policies"),
    "pg_rewrite": _snap("rules and view definitions"),
    "pg_type": _snap("enums, domains, ranges, composite and base types"),
    "pg_enum": _snap("enum labels"),
    "pg_range": _snap("range subtypes"),
    "pg_statistic_ext": _snap("extended statistics objects"),
    "pg_extension": _snap("extensions (name, version, schema) stand for their members"),
    "pg_default_acl": _snap("default privileges"),
    "pg_authid": _snap("attributes of the Gordon roles (through pg_roles)"),
    "pg_auth_members": _snap("memberships of the Gordon roles"),
    "pg_db_role_setting": _snap(
        "settings of this database, of every role in it, and of the Gordon roles everywhere"
    ),
    "pg_database": _snap("this database: privileges, connection limit, connections, template"),
    "pg_foreign_table": _snap("foreign tables are relations of pg_class"),
    # --- generic: every object, its owner and privileges, named by pg_identify_object ---
    "pg_am": Catalog("identity"),
    "pg_amop": Catalog("identity"),
    "pg_amproc": Catalog("identity"),
    "pg_cast": Catalog("identity"),
    "pg_collation": Catalog("identity", namespace="collnamespace", owner="collowner"),
    "pg_conversion": Catalog("identity", namespace="connamespace", owner="conowner"),
    "pg_event_trigger": Catalog(
        "identity",
        owner="evtowner",
        facets=(
            ("event", "x.evtevent::text"),
            ("function", "x.evtfoid::regprocedure::text"),
            ("enabled", "x.evtenabled::text"),
            ("tags", "array_to_string(x.evttags, ', ')"),
        ),
    ),
    "pg_foreign_data_wrapper": Catalog("identity", owner="fdwowner", acl=("fdwacl", "F")),
    "pg_foreign_server": Catalog("identity", owner="srvowner", acl=("srvacl", "S")),
    "pg_language": Catalog("identity", owner="lanowner", acl=("lanacl", "l")),
    "pg_opclass": Catalog("identity", namespace="opcnamespace", owner="opcowner"),
    "pg_operator": Catalog("identity", namespace="oprnamespace", owner="oprowner"),
    "pg_opfamily": Catalog("identity", namespace="opfnamespace", owner="opfowner"),
    # Cluster-wide: another application's parameter privileges make rows too.
    "pg_parameter_acl": Catalog("identity", acl=("paracl", "p"), since=150000, listed=False),
    "pg_publication": Catalog(
        "identity",
        owner="pubowner",
        facets=(
            ("all tables", "x.puballtables::text"),
            (
                "publishes",
                "concat_ws(', ', CASE WHEN x.pubinsert THEN 'insert' END, CASE WHEN x.pubupdate "
                "THEN 'update' END, CASE WHEN x.pubdelete THEN 'delete' END, CASE WHEN "
                "x.pubtruncate THEN 'truncate' END)",
            ),
            ("via root", "x.pubviaroot::text"),
        ),
    ),
    "pg_publication_namespace": Catalog("identity", since=150000),
    "pg_publication_rel": Catalog("identity"),
    "pg_subscription": Catalog(
        "identity",
        owner="subowner",
        facets=(
            ("enabled", "x.subenabled::text"),
            ("publications", "array_to_string(x.subpublications, ', ')"),
        ),
        where="x.subdbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())",
    ),
    "pg_transform": Catalog("identity"),
    "pg_ts_config": Catalog("identity", namespace="cfgnamespace", owner="cfgowner"),
    "pg_ts_dict": Catalog("identity", namespace="dictnamespace", owner="dictowner"),
    "pg_ts_parser": Catalog("identity", namespace="prsnamespace"),
    "pg_ts_template": Catalog("identity", namespace="tmplnamespace"),
    # pg_user_mapping holds passwords and is not readable by everyone; the view is.
    "pg_user_mapping": Catalog("identity", source="(SELECT umid AS oid FROM pg_user_mappings)"),
    # --- deliberately not drift ---
    "pg_ts_config_map": _ignored(
        "token mappings of a text search configuration: the configuration itself is listed "
        "(the migrations create none, so any is drift)"
    ),
    "pg_depend": _ignored("dependency bookkeeping: the objects at both ends are compared"),
    "pg_shdepend": _ignored("dependency bookkeeping: owners and privileges are compared"),
    "pg_init_privs": _ignored(
        "initial privileges of extension and system objects: extensions are compared by "
        "name, version and schema"
    ),
    "pg_description": _ignored("comments are documentation: COMMENT ON changes no behaviour"),
    "pg_shdescription": _ignored("comments are documentation: COMMENT ON changes no behaviour"),
    "pg_seclabel": _ignored(
        "security labels need a label provider module (sepgsql), which Gordon does not load"
    ),
    "pg_shseclabel": _ignored(
        "security labels need a label provider module (sepgsql), which Gordon does not load"
    ),
    "pg_statistic": _ignored("planner statistics: data ANALYZE derives, not a definition"),
    "pg_statistic_ext_data": _ignored(
        "extended statistics values: data ANALYZE derives (the objects are compared)"
    ),
    "pg_largeobject": _ignored("large object contents are data, not schema"),
    "pg_largeobject_metadata": _ignored(
        "large objects are data the application creates and removes, not schema"
    ),
    "pg_tablespace": _ignored(
        "tablespaces are storage placement chosen per server, not by the migrations"
    ),
    "pg_replication_origin": _ignored("replication progress: state, not a definition"),
    "pg_subscription_rel": _ignored(
        "per-table synchronisation state of a subscription (the subscription is compared)"
    ),
}


def identity_catalogs(server_version: int) -> list[tuple[str, Catalog]]:
    """The generic catalogs this server has, in a stable order."""
    return [
        (name, entry)
        for name, entry in sorted(CATALOGS.items())
        if entry.how == "identity" and server_version >= entry.since
    ]


# --- every column of every covered catalog -------------------------------------------------------
#
# ``COLUMNS[catalog][column]`` says what drift-check does with that column: "compared: <where>"
# or "ignored: <why>". A test fails while the running server has a column of a covered catalog
# (or of a view read instead of one, ``VIEWS``) that is not named here: a new major's column is
# a decision to make, not a silent gap. drift-check itself refuses to pass on such a server.

_OID = "ignored: the object's OID, assigned per cluster: objects are named by name instead"
_NAME = "compared: the object's name"
_SCHEMA = "compared: the schema, part of the object's qualified name"
_OWNER = "compared: the owner facet"
_ACL = "compared: the privileges (grant matrices; built-in objects against pg_init_privs)"
_DEF = "compared: part of the deparsed definition"
_STATS = "ignored: planner statistics or storage state the server maintains (VACUUM, ANALYZE)"
_INHERIT = "ignored: inheritance bookkeeping; the inheritance itself (pg_inherits) is compared"
_IDENTITY = "compared: part of the identity pg_identify_object gives the object"
_TYPE_COPY = "ignored: copied from the column's type (atttypid, compared)"


def _unpinned(kind: str) -> str:
    """Attributes of a kind of object the migrations never create: any such object in scope
    is drift on its own, whatever its attributes (``UNPINNED`` lets a test check that)."""
    return f"ignored: the migrations create no {kind}: any is drift on its own, attributes aside"


#: Catalog -> (the snapshot's object prefix, facet or "" for any) that must stay absent from
#: the fixtures for ``_unpinned`` to hold.
UNPINNED: dict[str, tuple[str, str]] = {
    "pg_aggregate": ("aggregate ", ""),
    "pg_foreign_table": ("foreign table ", ""),
    "pg_range": ("type ", "subtype"),
    "pg_type": ("type ", "kind"),
}

_GENERIC_NOTE = "the migrations create none of this catalog"

COLUMNS: dict[str, dict[str, str]] = {
    "pg_namespace": {"oid": _OID, "nspname": _NAME, "nspowner": _OWNER, "nspacl": _ACL},
    "pg_class": {
        "oid": _OID,
        "relname": _NAME,
        "relnamespace": _SCHEMA,
        "reltype": "ignored: the row type made with the relation follows from it",
        "reloftype": "compared: the 'of type' facet (typed tables)",
        "relowner": _OWNER,
        "relam": "compared: the 'access method' facet",
        "relfilenode": "ignored: storage: changes with every rewrite (VACUUM FULL, CLUSTER)",
        "reltablespace": "ignored: tablespaces are storage placement per server (pg_tablespace)",
        "relpages": _STATS,
        "reltuples": _STATS,
        "relallvisible": _STATS,
        "relallfrozen": _STATS,
        "reltoastrelid": "ignored: storage: the TOAST table follows from the columns",
        "relhasindex": "ignored: derived: set while indexes exist (the indexes are compared)",
        "relisshared": "ignored: only system catalogs are shared, and they are not in scope",
        "relpersistence": "compared: the 'persistence' facet",
        "relkind": "compared: the object's kind",
        "relnatts": "ignored: derived: the columns are compared",
        "relchecks": "ignored: derived: the constraints are compared",
        "relhasrules": "ignored: derived: the rules are compared",
        "relhastriggers": "ignored: derived: the triggers are compared",
        "relhassubclass": _INHERIT,
        "relrowsecurity": "compared: the 'row level security' facet",
        "relforcerowsecurity": "compared: the 'force row level security' facet",
        "relispopulated": (
            "ignored: whether a materialized view holds data: data, like the rows of a table"
        ),
        "relreplident": "compared: the 'replica identity' facet",
        "relispartition": "compared: the 'partition of' facet",
        "relrewrite": "ignored: transient: set only while a table is being rewritten",
        "relfrozenxid": _STATS,
        "relminmxid": _STATS,
        "relacl": _ACL,
        "reloptions": "compared: the 'options' facet",
        "relpartbound": "compared: the 'partition of' facet (the bound)",
    },
    "pg_attribute": {
        "attrelid": "compared: the relation, part of the column's name",
        "attname": _NAME,
        "atttypid": "compared: the 'type' facet",
        "attlen": _TYPE_COPY,
        "attnum": "compared: the 'position' facet (rank among the live columns)",
        "atttypmod": "compared: the 'type' facet (format_type prints the modifier)",
        "attndims": "ignored: declared array dimensions, which PostgreSQL does not enforce",
        "attbyval": _TYPE_COPY,
        "attalign": _TYPE_COPY,
        "attstorage": "ignored: SET STORAGE is physical tuning, like statistics targets",
        "attcompression": "ignored: SET COMPRESSION is physical tuning, like statistics targets",
        "attnotnull": "compared: the 'not null' facet (PostgreSQL 18: and its constraint's state)",
        "atthasdef": "ignored: derived: the default itself (pg_attrdef) is compared",
        "atthasmissing": "ignored: the fast default of ADD COLUMN ... DEFAULT: data, not schema",
        "attidentity": "compared: the 'identity' facet",
        "attgenerated": "compared: the 'generated' facet",
        "attisdropped": "compared: dropped columns are left out of the columns",
        "attislocal": _INHERIT,
        "attinhcount": _INHERIT,
        "attcollation": "compared: the 'collation' facet",
        "attstattarget": "ignored: statistics targets are planner tuning (README)",
        "attacl": "compared: the column grant matrix",
        "attoptions": "ignored: per-column planner options (n_distinct): planner tuning",
        "attfdwoptions": _unpinned("foreign table"),
        "attmissingval": "ignored: the fast default of ADD COLUMN ... DEFAULT: data, not schema",
        "attcacheoff": "ignored: always -1 on disk (PostgreSQL 16 and before)",
    },
    "pg_attrdef": {
        "oid": _OID,
        "adrelid": "compared: the column it belongs to",
        "adnum": "compared: the column it belongs to",
        "adbin": "compared: the 'default' or 'generated' facet",
    },
    "pg_constraint": {
        "oid": _OID,
        "conname": _NAME,
        "connamespace": _SCHEMA,
        "contype": _DEF,
        "condeferrable": _DEF,
        "condeferred": _DEF,
        "conenforced": _DEF + " (NOT ENFORCED)",
        "convalidated": _DEF + " (NOT VALID); NOT NULL: the column's 'not null constraint'",
        "conrelid": "compared: the table, part of the constraint's name",
        "contypid": "compared: the domain, part of the constraint's name",
        "conindid": "ignored: the index behind the constraint is compared itself",
        "conparentid": "ignored: derived: a partition's copy of its parent's constraint",
        "confrelid": _DEF,
        "confupdtype": _DEF,
        "confdeltype": _DEF,
        "confmatchtype": _DEF,
        "conislocal": _INHERIT,
        "coninhcount": _INHERIT,
        "connoinherit": _DEF + " (NO INHERIT); NOT NULL: the column's 'not null constraint'",
        "conperiod": _DEF,
        "conkey": _DEF,
        "confkey": _DEF,
        "conpfeqop": _DEF,
        "conppeqop": _DEF,
        "conffeqop": _DEF,
        "confdelsetcols": _DEF,
        "conexclop": _DEF,
        "conbin": _DEF,
    },
    "pg_index": {
        "indexrelid": "compared: the index's name",
        "indrelid": _DEF,
        "indnatts": _DEF + " (INCLUDE)",
        "indnkeyatts": _DEF,
        "indisunique": _DEF,
        "indnullsnotdistinct": _DEF,
        "indisprimary": "compared: the constraint's definition (PRIMARY KEY)",
        "indisexclusion": "compared: the constraint's definition (EXCLUDE)",
        "indimmediate": "compared: the constraint's definition (DEFERRABLE)",
        "indisclustered": "ignored: CLUSTER ... USING is routine maintenance (README)",
        "indisvalid": "compared: the 'valid' facet",
        "indcheckxmin": "ignored: HOT bookkeeping of an index build",
        "indisready": "compared: the 'valid' facet (usable only when valid, ready and live)",
        "indislive": "compared: the 'valid' facet (usable only when valid, ready and live)",
        "indisreplident": "compared: the 'replica identity' facet",
        "indkey": _DEF,
        "indcollation": _DEF,
        "indclass": _DEF,
        "indoption": _DEF,
        "indexprs": _DEF,
        "indpred": _DEF,
    },
    "pg_inherits": {
        "inhrelid": "compared: the 'inherits' or 'partition of' facet",
        "inhparent": "compared: the 'inherits' or 'partition of' facet",
        "inhseqno": "compared: the order of the 'inherits' facet",
        "inhdetachpending": "compared: the 'inherits' facet says '(detach pending)'",
    },
    "pg_partitioned_table": {
        "partrelid": "compared: the partitioned table it describes",
        "partstrat": "compared: the 'partition key' facet",
        "partnatts": "compared: the 'partition key' facet",
        "partdefid": "compared: the default partition's bound (DEFAULT)",
        "partattrs": "compared: the 'partition key' facet",
        "partclass": "compared: the 'partition key' facet",
        "partcollation": "compared: the 'partition key' facet",
        "partexprs": "compared: the 'partition key' facet",
    },
    "pg_sequence": {
        "seqrelid": "compared: the sequence",
        "seqtypid": "compared: the 'type' facet",
        "seqstart": "compared: the 'start' facet",
        "seqincrement": "compared: the 'increment' facet",
        "seqmax": "compared: the 'max' facet",
        "seqmin": "compared: the 'min' facet",
        "seqcache": "compared: the 'cache' facet",
        "seqcycle": "compared: the 'cycle' facet",
    },
    "pg_proc": {
        "oid": _OID,
        "proname": _NAME,
        "pronamespace": _SCHEMA,
        "proowner": _OWNER,
        "prolang": "compared: the 'language' facet",
        "procost": "compared: the 'cost' facet",
        "prorows": "compared: the 'rows' facet",
        "provariadic": "compared: the 'arguments' facet (VARIADIC)",
        "prosupport": "compared: the 'support' facet",
        "prokind": "compared: the object's kind",
        "prosecdef": "compared: the 'security' facet",
        "proleakproof": "compared: the 'leakproof' facet",
        "proisstrict": "compared: the 'strict' facet",
        "proretset": "compared: the 'returns' facet (SETOF)",
        "provolatile": "compared: the 'volatility' facet",
        "proparallel": "compared: the 'parallel' facet",
        "pronargs": "compared: the 'arguments' facet",
        "pronargdefaults": "compared: the 'arguments' facet",
        "prorettype": "compared: the 'returns' facet",
        "proargtypes": "compared: the name (identity arguments) and the 'arguments' facet",
        "proallargtypes": "compared: the 'arguments' facet (OUT arguments)",
        "proargmodes": "compared: the 'arguments' facet",
        "proargnames": "compared: the 'arguments' facet",
        "proargdefaults": "compared: the 'arguments' facet (DEFAULT)",
        "protrftypes": (
            "ignored: transforms exist only through extensions, and any transform or "
            "extension is drift on its own"
        ),
        "prosrc": "compared: the 'body' facet; built-in functions: pinned digest per major",
        "probin": "compared: the 'library' facet; built-in functions: pinned digest per major",
        "prosqlbody": "compared: the 'body' facet",
        "proconfig": "compared: the 'settings' facet; built-in functions: pinned digest",
        "proacl": _ACL,
    },
    "pg_aggregate": {
        "aggfnoid": "compared: the aggregate's row of pg_proc (name, owner, privileges)",
        **{
            column: _unpinned("aggregate")
            for column in [
                "aggkind",
                "aggnumdirectargs",
                "aggtransfn",
                "aggfinalfn",
                "aggcombinefn",
                "aggserialfn",
                "aggdeserialfn",
                "aggmtransfn",
                "aggminvtransfn",
                "aggmfinalfn",
                "aggfinalextra",
                "aggmfinalextra",
                "aggfinalmodify",
                "aggmfinalmodify",
                "aggsortop",
                "aggtranstype",
                "aggtransspace",
                "aggmtranstype",
                "aggmtransspace",
                "agginitval",
                "aggminitval",
            ]
        },
    },
    "pg_trigger": {
        "oid": _OID,
        "tgrelid": "compared: the table, part of the trigger's name",
        "tgparentid": "ignored: derived: a partition's clone of its parent's trigger",
        "tgname": _NAME,
        "tgfoid": _DEF,
        "tgtype": _DEF,
        "tgenabled": "compared: the 'enabled' facet (internal triggers too)",
        "tgisinternal": "compared: internal triggers are named by their constraint",
        "tgconstrrelid": _DEF + " (FROM)",
        "tgconstrindid": "ignored: derived: the index of the constraint it enforces",
        "tgconstraint": "compared: internal triggers are named by their constraint",
        "tgdeferrable": _DEF,
        "tginitdeferred": _DEF,
        "tgnargs": _DEF,
        "tgattr": _DEF + " (UPDATE OF)",
        "tgargs": _DEF,
        "tgqual": _DEF + " (WHEN)",
        "tgoldtable": _DEF + " (REFERENCING)",
        "tgnewtable": _DEF + " (REFERENCING)",
    },
    "pg_policy": {
        "oid": _OID,
        "polname": _NAME,
        "polrelid": "compared: the table, part of the policy's name",
        "polcmd": "compared: the 'command' facet",
        "polpermissive": "compared: the 'type' facet",
        "polroles": "compared: the 'roles' facet",
        "polqual": "compared: the 'using' facet",
        "polwithcheck": "compared: the 'with check' facet",
    },
    "pg_rewrite": {
        "oid": _OID,
        "rulename": _NAME,
        "ev_class": "compared: the table, part of the rule's name",
        "ev_type": _DEF,
        "ev_enabled": "compared: the 'enabled' facet",
        "is_instead": _DEF,
        "ev_qual": _DEF,
        "ev_action": _DEF + " (a view's: its 'definition' facet)",
    },
    "pg_type": {
        "oid": _OID,
        "typname": _NAME,
        "typnamespace": _SCHEMA,
        "typowner": _OWNER,
        "typlen": _unpinned("base type"),
        "typbyval": _unpinned("base type"),
        "typtype": "compared: the 'kind' facet",
        "typcategory": _unpinned("base type"),
        "typispreferred": _unpinned("base type"),
        "typisdefined": "compared: a shell type is listed as a type of its own",
        "typdelim": _unpinned("base type"),
        "typrelid": "compared: a composite type's attributes",
        "typsubscript": _unpinned("base type"),
        "typelem": "ignored: array types follow from their element type (left out)",
        "typarray": "ignored: array types follow from their element type (left out)",
        "typinput": _unpinned("base type"),
        "typoutput": _unpinned("base type"),
        "typreceive": _unpinned("base type"),
        "typsend": _unpinned("base type"),
        "typmodin": _unpinned("base type"),
        "typmodout": _unpinned("base type"),
        "typanalyze": _unpinned("base type"),
        "typalign": _unpinned("base type"),
        "typstorage": _unpinned("base type"),
        "typnotnull": "compared: a domain's 'not null' facet",
        "typbasetype": "compared: a domain's 'base type' facet",
        "typtypmod": "compared: a domain's 'base type' facet",
        "typndims": "ignored: declared array dimensions, which PostgreSQL does not enforce",
        "typcollation": "compared: a domain's 'collation' facet",
        "typdefaultbin": "compared: the 'default' facet",
        "typdefault": "ignored: derived: the text of typdefaultbin (compared)",
        "typacl": _ACL,
    },
    "pg_enum": {
        "oid": _OID,
        "enumtypid": "compared: the enum type",
        "enumsortorder": "compared: the order of the 'labels' facet",
        "enumlabel": "compared: the 'labels' facet",
    },
    "pg_range": {
        "rngtypid": "compared: the range type",
        "rngsubtype": "compared: the 'subtype' facet",
        "rngmultitypid": "ignored: the multirange type made with the range follows from it",
        "rngcollation": _unpinned("range type"),
        "rngsubopc": _unpinned("range type"),
        "rngcanonical": _unpinned("range type"),
        "rngsubdiff": _unpinned("range type"),
    },
    "pg_statistic_ext": {
        "oid": _OID,
        "stxrelid": _DEF,
        "stxname": _NAME,
        "stxnamespace": _SCHEMA,
        "stxowner": _OWNER,
        "stxkeys": _DEF,
        "stxstattarget": "ignored: statistics targets are planner tuning (README)",
        "stxkind": _DEF,
        "stxexprs": _DEF,
    },
    "pg_extension": {
        "oid": _OID,
        "extname": _NAME,
        "extowner": "compared: the 'owner' facet (the bootstrap superuser named as such)",
        "extnamespace": "compared: the 'schema' facet",
        "extrelocatable": "ignored: follows from the extension's control file (its version)",
        "extversion": "compared: the 'version' facet",
        "extconfig": "ignored: configuration tables of the extension: its members are compared",
        "extcondition": "ignored: configuration tables of the extension: its members are compared",
    },
    "pg_default_acl": {
        "oid": _OID,
        "defaclrole": "compared: default privileges, by owner",
        "defaclnamespace": "compared: default privileges, by schema",
        "defaclobjtype": "compared: default privileges, by kind of object",
        "defaclacl": "compared: default privileges",
    },
    # Read through pg_roles (pg_authid is not readable by drift-check's role).
    "pg_authid": {
        "oid": _OID,
        "rolname": _NAME,
        "rolsuper": "compared: the 'superuser' facet",
        "rolinherit": "compared: the 'inherit' facet",
        "rolcreaterole": "compared: the 'createrole' facet",
        "rolcreatedb": "compared: the 'createdb' facet",
        "rolcanlogin": "compared: the 'login' facet",
        "rolreplication": "compared: the 'replication' facet",
        "rolbypassrls": "compared: the 'bypassrls' facet",
        "rolconnlimit": "compared: the 'connection limit' facet",
        "rolpassword": (
            "ignored: passwords are set out of band by provisioning, never by a migration "
            "(and pg_roles hides them)"
        ),
        "rolvaliduntil": "compared: the 'valid until' facet",
    },
    "pg_auth_members": {
        "oid": _OID,
        "roleid": "compared: the membership's role",
        "member": "compared: the membership's member",
        "grantor": "ignored: who granted a membership is bookkeeping; the grant is compared",
        "admin_option": "compared: the 'admin option' facet",
        "inherit_option": "compared: the 'inherit' facet",
        "set_option": "compared: the 'set' facet",
    },
    "pg_db_role_setting": {
        "setdatabase": "compared: which database the setting applies in",
        "setrole": "compared: which role the setting applies to",
        "setconfig": "compared: the 'setting' facets",
    },
    "pg_database": {
        "oid": _OID,
        "datname": "ignored: this database's name differs per environment (<this database>)",
        "datdba": "ignored: the database's owner is chosen per environment (README)",
        "encoding": "ignored: chosen when the database is created, per environment (README)",
        "datlocprovider": "ignored: chosen when the database is created, per environment",
        "datistemplate": "compared: the 'is template' facet",
        "datallowconn": "compared: the 'allow connections' facet",
        "dathasloginevt": "ignored: derived: set while a login event trigger exists (compared)",
        "datconnlimit": "compared: the 'connection limit' facet",
        "datfrozenxid": _STATS,
        "datminmxid": _STATS,
        "dattablespace": "ignored: tablespaces are storage placement per server",
        "datcollate": "ignored: chosen when the database is created, per environment",
        "datctype": "ignored: chosen when the database is created, per environment",
        "datlocale": "ignored: chosen when the database is created, per environment",
        "daticulocale": "ignored: chosen when the database is created, per environment",
        "daticurules": "ignored: chosen when the database is created, per environment",
        "datcollversion": "ignored: the collation library's version, per server",
        "datacl": _ACL,
    },
    "pg_foreign_table": {
        "ftrelid": "compared: the foreign table, a relation of pg_class",
        "ftserver": _unpinned("foreign table"),
        "ftoptions": _unpinned("foreign table"),
    },
}


def _generic_columns(
    names: str, identity: str, *, owner: str = "", acl: str = "", compared: str = ""
) -> dict[str, str]:
    """Columns of a generic catalog: ``identity`` columns name the object (pg_identify_object),
    ``owner``/``acl``/``compared`` are facets; the rest describe an object the migrations never
    create (any is drift on its own: ``_GENERIC_NOTE``)."""
    out = {}
    for column in names.split():
        if column == "oid":
            out[column] = _OID
        elif column in identity.split():
            out[column] = _IDENTITY
        elif column == owner:
            out[column] = _OWNER
        elif column == acl:
            out[column] = _ACL
        elif column in compared.split():
            out[column] = "compared: a facet of the object"
        else:
            out[column] = f"ignored: {_GENERIC_NOTE}: any object is drift on its own"
    return out


COLUMNS |= {
    "pg_am": _generic_columns("oid amname amhandler amtype", "amname"),
    "pg_amop": _generic_columns(
        "oid amopfamily amoplefttype amoprighttype amopstrategy amoppurpose amopopr amopmethod "
        "amopsortfamily",
        "amopfamily amoplefttype amoprighttype amopstrategy",
    ),
    "pg_amproc": _generic_columns(
        "oid amprocfamily amproclefttype amprocrighttype amprocnum amproc",
        "amprocfamily amproclefttype amprocrighttype amprocnum",
    ),
    "pg_cast": _generic_columns(
        "oid castsource casttarget castfunc castcontext castmethod", "castsource casttarget"
    ),
    "pg_collation": _generic_columns(
        "oid collname collnamespace collowner collprovider collisdeterministic collencoding "
        "collcollate collctype colllocale colliculocale collicurules collversion",
        "collname collnamespace",
        owner="collowner",
    ),
    "pg_conversion": _generic_columns(
        "oid conname connamespace conowner conforencoding contoencoding conproc condefault",
        "conname connamespace",
        owner="conowner",
    ),
    "pg_event_trigger": _generic_columns(
        "oid evtname evtevent evtowner evtfoid evtenabled evttags",
        "evtname",
        owner="evtowner",
        compared="evtevent evtfoid evtenabled evttags",
    ),
    "pg_foreign_data_wrapper": _generic_columns(
        "oid fdwname fdwowner fdwhandler fdwvalidator fdwacl fdwoptions",
        "fdwname",
        owner="fdwowner",
        acl="fdwacl",
    ),
    "pg_foreign_server": _generic_columns(
        "oid srvname srvowner srvfdw srvtype srvversion srvacl srvoptions",
        "srvname",
        owner="srvowner",
        acl="srvacl",
    ),
    "pg_language": _generic_columns(
        "oid lanname lanowner lanispl lanpltrusted lanplcallfoid laninline lanvalidator lanacl",
        "lanname",
        owner="lanowner",
        acl="lanacl",
    )
    | {
        column: "compared: built-in languages against BUILTIN_LANGUAGES; any other is drift"
        for column in ("lanispl", "lanpltrusted", "lanplcallfoid", "laninline", "lanvalidator")
    },
    "pg_opclass": _generic_columns(
        "oid opcmethod opcname opcnamespace opcowner opcfamily opcintype opcdefault opckeytype",
        "opcmethod opcname opcnamespace",
        owner="opcowner",
    ),
    "pg_operator": _generic_columns(
        "oid oprname oprnamespace oprowner oprkind oprcanmerge oprcanhash oprleft oprright "
        "oprresult oprcom oprnegate oprcode oprrest oprjoin",
        "oprname oprnamespace oprleft oprright",
        owner="oprowner",
    ),
    "pg_opfamily": _generic_columns(
        "oid opfmethod opfname opfnamespace opfowner",
        "opfmethod opfname opfnamespace",
        owner="opfowner",
    ),
    "pg_parameter_acl": _generic_columns("oid parname paracl", "parname", acl="paracl"),
    "pg_publication": _generic_columns(
        "oid pubname pubowner puballtables pubinsert pubupdate pubdelete pubtruncate pubviaroot "
        "pubgencols",
        "pubname",
        owner="pubowner",
        compared="puballtables pubinsert pubupdate pubdelete pubtruncate pubviaroot",
    ),
    "pg_publication_namespace": _generic_columns("oid pnpubid pnnspid", "pnpubid pnnspid"),
    "pg_publication_rel": _generic_columns("oid prpubid prrelid prqual prattrs", "prpubid prrelid"),
    "pg_subscription": _generic_columns(
        "oid subdbid subskiplsn subname subowner subenabled subbinary substream "
        "subtwophasestate subdisableonerr subpasswordrequired subrunasowner subfailover "
        "subconninfo subslotname subsynccommit subpublications suborigin",
        "subname subdbid",
        owner="subowner",
        compared="subenabled subpublications",
    ),
    "pg_transform": _generic_columns("oid trftype trflang trffromsql trftosql", "trftype trflang"),
    "pg_ts_config": _generic_columns(
        "oid cfgname cfgnamespace cfgowner cfgparser",
        "cfgname cfgnamespace",
        owner="cfgowner",
    ),
    "pg_ts_dict": _generic_columns(
        "oid dictname dictnamespace dictowner dicttemplate dictinitoption",
        "dictname dictnamespace",
        owner="dictowner",
    ),
    "pg_ts_parser": _generic_columns(
        "oid prsname prsnamespace prsstart prstoken prsend prsheadline prslextype",
        "prsname prsnamespace",
    ),
    "pg_ts_template": _generic_columns(
        "oid tmplname tmplnamespace tmplinit tmpllexize", "tmplname tmplnamespace"
    ),
    "pg_user_mapping": _generic_columns("oid umuser umserver umoptions", "umuser umserver"),
}

#: How each language ``initdb`` makes runs (``queries.BUILTIN_LANGUAGES``): the same from
#: PostgreSQL 15 to 18. CREATE OR REPLACE LANGUAGE can change it without a trace elsewhere.
BUILTIN_LANGUAGES: dict[str, str] = {
    "internal": "untrusted, validator fmgr_internal_validator(oid)",
    "c": "untrusted, validator fmgr_c_validator(oid)",
    "sql": "trusted, validator fmgr_sql_validator(oid)",
    "plpgsql": (
        "trusted, procedural, handler plpgsql_call_handler(), "
        "inline plpgsql_inline_handler(internal), validator plpgsql_validator(oid)"
    ),
}

#: Views the snapshot reads instead of a catalog, column by column like ``COLUMNS``.
VIEWS: dict[str, dict[str, str]] = {
    "pg_roles": {
        column: COLUMNS["pg_authid"].get(column, "")
        for column in [
            "oid",
            "rolname",
            "rolsuper",
            "rolinherit",
            "rolcreaterole",
            "rolcreatedb",
            "rolcanlogin",
            "rolreplication",
            "rolbypassrls",
            "rolconnlimit",
            "rolpassword",
            "rolvaliduntil",
        ]
    }
    | {"rolconfig": "compared: the 'setting' facets (pg_db_role_setting, every database)"},
    "pg_user_mappings": {
        "umid": "compared: the user mapping (its OID names it through pg_identify_object)",
        "srvid": _IDENTITY,
        "srvname": _IDENTITY,
        "umuser": _IDENTITY,
        "usename": _IDENTITY,
        "umoptions": "ignored: " + _GENERIC_NOTE + " (user mappings): any is drift on its own",
    },
}


def unmapped_columns(server_columns: dict[str, set[str]]) -> list[str]:
    """``catalog.column`` of the server's covered catalogs and views that ``COLUMNS`` and
    ``VIEWS`` do not name, sorted."""
    known = COLUMNS | VIEWS
    return sorted(
        f"{relation}.{column}"
        for relation, columns in server_columns.items()
        for column in columns - known.get(relation, {}).keys()
    )


#: The relations whose columns ``unmapped_columns`` looks at: every covered catalog and view.
MAPPED = tuple(sorted(COLUMNS.keys() | VIEWS.keys()))


# --- the cluster, as it reaches Gordon -----------------------------------------------------------

#: Every predefined role and whether a membership in it is drift ("drift: ...") or not ("not
#: drift: ..."), whoever the member: Gordon's roles, another application's, anyone's but the
#: bootstrap superuser's and the migrator's (both can do everything already). A test fails while
#: the server has a predefined role not named here.
PREDEFINED_ROLES: dict[str, str] = {
    "pg_read_all_data": "drift: reads every table of every schema, whatever the grants",
    "pg_write_all_data": "drift: writes every table of every schema, whatever the grants",
    "pg_execute_server_program": (
        "drift: COPY ... PROGRAM runs commands as the server's operating system user"
    ),
    "pg_read_server_files": "drift: reads any file the server can (data files included)",
    "pg_write_server_files": "drift: writes any file the server can (data files included)",
    "pg_maintain": (
        "drift: VACUUM, CLUSTER, REINDEX, REFRESH and LOCK TABLE on every table: it can take "
        "ACCESS EXCLUSIVE on trading.fills"
    ),
    "pg_signal_backend": "drift: cancels or terminates the sessions of every Gordon role",
    "pg_create_subscription": (
        "drift: subscriptions replicate rows into tables, with CREATE on the database"
    ),
    "pg_monitor": "not drift: monitoring (statistics, settings), no access to the rows",
    "pg_read_all_settings": "not drift: monitoring: reads settings, no access to the rows",
    "pg_read_all_stats": "not drift: monitoring: reads statistics, no access to the rows",
    "pg_stat_scan_tables": "not drift: monitoring functions that take ACCESS SHARE at most",
    "pg_checkpoint": "not drift: forces a checkpoint: I/O, no access to the rows",
    "pg_use_reserved_connections": "not drift: connection slots, no access to the rows",
    "pg_signal_autovacuum_worker": "not drift: signals autovacuum workers only",
    "pg_database_owner": "not drift: implicit (the database's owner), it cannot be granted",
}

#: Predefined roles a membership in which is drift, whoever the member.
REACHING_ROLES = frozenset(
    name for name, decision in PREDEFINED_ROLES.items() if decision.startswith("drift:")
)

#: The schemas PostgreSQL itself makes, by exact name (never a prefix: a schema a superuser
#: names ``pg_toastx`` is Gordon's business). Session schemas ``pg_temp_N`` and
#: ``pg_toast_temp_N`` are matched by their exact form too (``queries.scope``).
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
