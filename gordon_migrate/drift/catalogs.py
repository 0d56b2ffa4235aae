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
    "pg_parameter_acl": Catalog("identity", acl=("paracl", "p"), since=150000),
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
