"""Postgres lock levels per DDL form: the one table the linter, the lock plan and the TUI use.

Every entry carries an example statement against the Gordon v7 schema; ``tests/test_lint_locks``
runs each one on a real server and checks the lock it really takes (``pg_locks``) and whether
it really rewrites the table (its relfilenode changes). Sources: the PostgreSQL documentation
("Explicit Locking", the ALTER TABLE, CREATE INDEX, REINDEX, VACUUM and CLUSTER pages), and
``AlterTableGetLockLevel`` in ``src/backend/commands/tablecmds.c``, ``index_drop`` and
``RelationGetIndexList`` (``src/backend/catalog/index.c``, ``utils/cache/relcache.c``) for the
last step of DROP INDEX / REINDEX CONCURRENTLY.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gordon_migrate.rehearse import model
from gordon_migrate.rehearse.model import Blocks

# Weakest to strongest, as pg_locks names them.
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)

# The conflict table of the "Explicit Locking" chapter: mode -> modes it conflicts with.
CONFLICTS: dict[str, frozenset[str]] = {
    "AccessShareLock": frozenset({"AccessExclusiveLock"}),
    "RowShareLock": frozenset({"ExclusiveLock", "AccessExclusiveLock"}),
    "RowExclusiveLock": frozenset(
        {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
    ),
    "ShareUpdateExclusiveLock": frozenset(
        {
            "ShareUpdateExclusiveLock",
            "ShareLock",
            "ShareRowExclusiveLock",
            "ExclusiveLock",
            "AccessExclusiveLock",
        }
    ),
    "ShareLock": frozenset(
        {
            "RowExclusiveLock",
            "ShareUpdateExclusiveLock",
            "ShareRowExclusiveLock",
            "ExclusiveLock",
            "AccessExclusiveLock",
        }
    ),
    "ShareRowExclusiveLock": frozenset(
        {
            "RowExclusiveLock",
            "ShareUpdateExclusiveLock",
            "ShareLock",
            "ShareRowExclusiveLock",
            "ExclusiveLock",
            "AccessExclusiveLock",
        }
    ),
    "ExclusiveLock": frozenset(set(MODES) - {"AccessShareLock"}),
    "AccessExclusiveLock": frozenset(MODES),
}

Work = Literal["rewrite", "scan", "none"]


def blocks(mode: str) -> Blocks:
    """What a held ``mode`` (as pg_locks spells it) stops: ``model.blocks``."""
    return model.blocks(model.mode_name(mode))


def conflicts(a: str, b: str) -> bool:
    return b in CONFLICTS.get(a, frozenset())


def label(mode: str) -> str:
    """``ShareRowExclusiveLock`` -> ``SHARE ROW EXCLUSIVE`` (how LOCK TABLE spells it)."""
    words: list[str] = []
    for ch in mode.removesuffix("Lock"):
        if ch.isupper() and words:
            words.append(" ")
        words.append(ch.upper())
    return "".join(words)


@dataclass(frozen=True)
class LockForm:
    """One DDL/DML form: the lock it takes on ``relation`` of ``example``, and its work."""

    key: str
    title: str
    mode: str
    work: Work
    example: str
    relation: str
    #: Cannot run in a transaction block: the test watches it wait from a second session.
    concurrent: bool = False
    note: str = ""
    #: Committed before ``example`` by the test: what the v7 schema lacks for it.
    setup: str = ""
    #: ``relation`` is an index marked dead (``indislive`` false) by then: no reader or writer
    #: of its table opens it any more (``RelationGetIndexList`` skips it), so its lock, however
    #: strong, stops neither; only what opens the index itself (``pg_relation_size`` of it)
    #: waits. The test holds the statement at that step and runs a reader and a writer.
    dead_index: bool = False

    @property
    def blocks(self) -> Blocks:
        return "neither" if self.dead_index else blocks(self.mode)


_F = LockForm
FORMS: tuple[LockForm, ...] = (
    _F(
        "create_index",
        "CREATE INDEX",
        "ShareLock",
        "scan",
        "CREATE INDEX lint_probe_idx ON trading.fills (fee_asset)",
        "trading.fills",
        note="builds the index in one pass while every write to the table waits",
    ),
    _F(
        "create_index_concurrently",
        "CREATE INDEX CONCURRENTLY",
        "ShareUpdateExclusiveLock",
        "scan",
        "CREATE INDEX CONCURRENTLY lint_probe_idx ON trading.fills (fee_asset)",
        "trading.fills",
        concurrent=True,
        note="two scans, and waits for every transaction that could use the old snapshot",
    ),
    _F(
        "drop_index",
        "DROP INDEX",
        "AccessExclusiveLock",
        "none",
        "DROP INDEX trading.order_intents_open_idx",
        "trading.order_intents",
    ),
    _F(
        "drop_index_concurrently",
        "DROP INDEX CONCURRENTLY",
        "ShareUpdateExclusiveLock",
        "none",
        "DROP INDEX CONCURRENTLY trading.order_intents_open_idx",
        "trading.order_intents",
        concurrent=True,
    ),
    _F(
        "drop_index_concurrently_end",
        "DROP INDEX CONCURRENTLY, its last step (the index is dead: the table's readers and "
        "writers no longer open it)",
        "AccessExclusiveLock",
        "none",
        "DROP INDEX CONCURRENTLY trading.order_intents_open_idx",
        "trading.order_intents_open_idx",
        concurrent=True,
        note="a moment at its end, to remove the index it marked dead: its table's readers and "
        "writers no longer open it and do not wait",
        dead_index=True,
    ),
    _F(
        "reindex",
        "REINDEX",
        "AccessExclusiveLock",
        "rewrite",
        "REINDEX TABLE trading.fills",
        "trading.fills",
        note="SHARE on the table but ACCESS EXCLUSIVE on each index it rebuilds, which every "
        "reader of the table needs; the heap itself is not rewritten",
    ),
    _F(
        "reindex_concurrently",
        "REINDEX CONCURRENTLY",
        "ShareUpdateExclusiveLock",
        "scan",
        "REINDEX TABLE CONCURRENTLY trading.fills",
        "trading.fills",
        concurrent=True,
    ),
    _F(
        "reindex_concurrently_end",
        "REINDEX CONCURRENTLY, its last step (each old index is dead: the table's readers and "
        "writers no longer open it)",
        "AccessExclusiveLock",
        "none",
        "REINDEX INDEX CONCURRENTLY trading.order_intents_open_idx",
        "trading.order_intents_open_idx",
        concurrent=True,
        note="a moment at its end, to drop each old index once the new one took its name and "
        "the old is dead: the table's readers and writers no longer open it and do not wait",
        dead_index=True,
    ),
    _F(
        "alter_index",
        "ALTER INDEX RENAME / SET (...)",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER INDEX trading.order_intents_open_idx RENAME TO lint_probe_idx",
        "trading.order_intents",
        note="on the index (PostgreSQL 12+); planned on its table",
    ),
    _F(
        "add_column",
        "ALTER TABLE ADD COLUMN",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ADD COLUMN lint_probe text DEFAULT 'x'",
        "trading.fills",
        note="a constant default is stored in the catalog: no rewrite (PostgreSQL 11+)",
    ),
    _F(
        "add_column_volatile",
        "ALTER TABLE ADD COLUMN ... DEFAULT volatile()",
        "AccessExclusiveLock",
        "rewrite",
        "ALTER TABLE trading.fills ADD COLUMN lint_probe double precision DEFAULT random()",
        "trading.fills",
    ),
    _F(
        "add_column_stored",
        "ALTER TABLE ADD COLUMN ... GENERATED ALWAYS AS (...) STORED",
        "AccessExclusiveLock",
        "rewrite",
        "ALTER TABLE trading.fills ADD COLUMN lint_probe numeric "
        "GENERATED ALWAYS AS (price * quantity) STORED",
        "trading.fills",
    ),
    _F(
        "alter_column_type",
        "ALTER TABLE ALTER COLUMN TYPE",
        "AccessExclusiveLock",
        "rewrite",
        "ALTER TABLE trading.fills ALTER COLUMN fee TYPE numeric(30,12)",
        "trading.fills",
        note="binary-coercible changes (varchar(n) -> text, a wider varchar) only rescan indexes",
    ),
    _F(
        "alter_column_type_coercible",
        "ALTER TABLE ALTER COLUMN TYPE (binary-coercible or wider)",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ALTER COLUMN fee TYPE numeric(30,10)",
        "trading.fills",
        note="varchar(n) -> varchar(m > n) or text, numeric(p,s) -> numeric(p' > p,s): no rewrite",
    ),
    _F(
        "set_not_null",
        "ALTER TABLE ALTER COLUMN SET NOT NULL",
        "AccessExclusiveLock",
        "scan",
        "ALTER TABLE trading.fills ALTER COLUMN liquidity SET NOT NULL",
        "trading.fills",
        note="the scan is skipped when a validated CHECK (col IS NOT NULL) proves it",
    ),
    _F(
        "drop_not_null",
        "ALTER TABLE ALTER COLUMN DROP NOT NULL",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ALTER COLUMN fee_asset DROP NOT NULL",
        "trading.fills",
    ),
    _F(
        "set_default",
        "ALTER TABLE ALTER COLUMN SET/DROP DEFAULT",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ALTER COLUMN fee SET DEFAULT 0",
        "trading.fills",
    ),
    _F(
        "add_check",
        "ALTER TABLE ADD CHECK",
        "AccessExclusiveLock",
        "scan",
        "ALTER TABLE trading.fills ADD CONSTRAINT lint_probe CHECK (fee >= 0)",
        "trading.fills",
    ),
    _F(
        "add_check_not_valid",
        "ALTER TABLE ADD CHECK ... NOT VALID",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ADD CONSTRAINT lint_probe CHECK (fee >= 0) NOT VALID",
        "trading.fills",
        note="brief: the catalog change only",
    ),
    _F(
        "validate_constraint",
        "ALTER TABLE VALIDATE CONSTRAINT",
        "ShareUpdateExclusiveLock",
        "scan",
        "ALTER TABLE trading.fills VALIDATE CONSTRAINT fills_liquidity_check",
        "trading.fills",
        note="scans while reads and writes go on",
    ),
    _F(
        "add_foreign_key",
        "ALTER TABLE ADD FOREIGN KEY",
        "ShareRowExclusiveLock",
        "scan",
        "ALTER TABLE trading.fills ADD CONSTRAINT lint_probe FOREIGN KEY (intent_id) "
        "REFERENCES trading.order_intents (intent_id)",
        "trading.fills",
        note="the referenced table is locked SHARE ROW EXCLUSIVE too",
    ),
    _F(
        "add_foreign_key_referenced",
        "ALTER TABLE ADD FOREIGN KEY (referenced table)",
        "ShareRowExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ADD CONSTRAINT lint_probe FOREIGN KEY (intent_id) "
        "REFERENCES trading.order_intents (intent_id) NOT VALID",
        "trading.order_intents",
    ),
    _F(
        "add_foreign_key_not_valid",
        "ALTER TABLE ADD FOREIGN KEY ... NOT VALID",
        "ShareRowExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ADD CONSTRAINT lint_probe FOREIGN KEY (intent_id) "
        "REFERENCES trading.order_intents (intent_id) NOT VALID",
        "trading.fills",
    ),
    _F(
        "add_unique",
        "ALTER TABLE ADD UNIQUE / PRIMARY KEY",
        "AccessExclusiveLock",
        "scan",
        "ALTER TABLE trading.fills ADD CONSTRAINT lint_probe UNIQUE (fill_id, fee)",
        "trading.fills",
        note="builds the index under the lock",
    ),
    _F(
        "add_unique_using_index",
        "ALTER TABLE ADD UNIQUE ... USING INDEX",
        "AccessExclusiveLock",
        "none",
        "CREATE UNIQUE INDEX lint_probe_idx ON trading.fills (fill_id, fee); "
        "ALTER TABLE trading.fills ADD CONSTRAINT lint_probe UNIQUE USING INDEX lint_probe_idx",
        "trading.fills",
        note="brief: the index was built (CONCURRENTLY) beforehand",
    ),
    _F(
        "drop_constraint",
        "ALTER TABLE DROP CONSTRAINT",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills DROP CONSTRAINT fills_liquidity_check",
        "trading.fills",
    ),
    _F(
        "drop_column",
        "ALTER TABLE DROP COLUMN",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills DROP COLUMN liquidity",
        "trading.fills",
    ),
    _F(
        "rename_column",
        "ALTER TABLE RENAME COLUMN",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills RENAME COLUMN liquidity TO lint_probe",
        "trading.fills",
    ),
    _F(
        "rename_table",
        "ALTER TABLE RENAME",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills RENAME TO lint_probe",
        "trading.fills",
    ),
    _F(
        "set_statistics",
        "ALTER TABLE ALTER COLUMN SET STATISTICS",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ALTER COLUMN fee SET STATISTICS 500",
        "trading.fills",
    ),
    _F(
        "set_column_options",
        "ALTER TABLE ALTER COLUMN SET/RESET (n_distinct, ...)",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ALTER COLUMN fee SET (n_distinct = 100)",
        "trading.fills",
    ),
    _F(
        "cluster_on",
        "ALTER TABLE CLUSTER ON / SET WITHOUT CLUSTER",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER TABLE trading.fills CLUSTER ON fills_pkey",
        "trading.fills",
        note="marks the index for a later CLUSTER: nothing is moved",
    ),
    _F(
        "set_storage_parameter",
        "ALTER TABLE SET (fillfactor, autovacuum_*)",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER TABLE trading.fills SET (autovacuum_vacuum_scale_factor = 0.05)",
        "trading.fills",
    ),
    _F(
        "set_logged",
        "ALTER TABLE SET LOGGED / UNLOGGED",
        "AccessExclusiveLock",
        "rewrite",
        "ALTER TABLE trading.venue_balances SET UNLOGGED",
        "trading.venue_balances",
    ),
    _F(
        "identity_sequence",
        "ALTER TABLE ALTER COLUMN SET ... (identity options)",
        "ShareRowExclusiveLock",
        "rewrite",
        "ALTER TABLE trading.fills ALTER COLUMN fill_id SET INCREMENT BY 2",
        "trading.fills_fill_id_seq",
        note="on the identity's sequence, which ALTER SEQUENCE takes too; the table is locked "
        "ACCESS EXCLUSIVE",
    ),
    _F(
        "owned_sequence",
        "an owned sequence dropped or moved with its table or identity",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ALTER COLUMN fill_id DROP IDENTITY",
        "trading.fills_fill_id_seq",
        note="an identity or serial column's sequence goes where its column goes",
    ),
    _F(
        "attach_partition",
        "ALTER TABLE ATTACH PARTITION",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER TABLE trading.lint_probe ATTACH PARTITION trading.lint_probe_1 "
        "FOR VALUES FROM (0) TO (100)",
        "trading.lint_probe",
        note="the partition attached (and a default partition) are locked ACCESS EXCLUSIVE "
        "and scanned against the bound",
        setup="CREATE TABLE trading.lint_probe (id bigint NOT NULL) PARTITION BY RANGE (id); "
        "CREATE TABLE trading.lint_probe_1 (id bigint NOT NULL)",
    ),
    _F(
        "partition",
        "ALTER TABLE ATTACH/DETACH PARTITION (the partition)",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.lint_probe ATTACH PARTITION trading.lint_probe_1 "
        "FOR VALUES FROM (0) TO (100)",
        "trading.lint_probe_1",
        setup="CREATE TABLE trading.lint_probe (id bigint NOT NULL) PARTITION BY RANGE (id); "
        "CREATE TABLE trading.lint_probe_1 (id bigint NOT NULL)",
    ),
    _F(
        "detach_partition",
        "ALTER TABLE DETACH PARTITION",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.lint_probe DETACH PARTITION trading.lint_probe_1",
        "trading.lint_probe",
        setup="CREATE TABLE trading.lint_probe (id bigint NOT NULL) PARTITION BY RANGE (id); "
        "CREATE TABLE trading.lint_probe_1 PARTITION OF trading.lint_probe "
        "FOR VALUES FROM (0) TO (100)",
    ),
    _F(
        "detach_partition_concurrently",
        "ALTER TABLE DETACH PARTITION ... CONCURRENTLY",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER TABLE trading.lint_probe DETACH PARTITION trading.lint_probe_1 CONCURRENTLY",
        "trading.lint_probe",
        concurrent=True,
        note="two transactions: the second takes ACCESS EXCLUSIVE on the partition, once every "
        "query that could see it through the parent is over",
        setup="CREATE TABLE trading.lint_probe (id bigint NOT NULL) PARTITION BY RANGE (id); "
        "CREATE TABLE trading.lint_probe_1 PARTITION OF trading.lint_probe "
        "FOR VALUES FROM (0) TO (100)",
    ),
    _F(
        "detach_partition_concurrently_partition",
        "ALTER TABLE DETACH PARTITION ... CONCURRENTLY (the partition)",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.lint_probe DETACH PARTITION trading.lint_probe_1 CONCURRENTLY",
        "trading.lint_probe_1",
        concurrent=True,
        note="in its second transaction: queued behind any reader of the partition, and every "
        "reader after it queues too",
        setup="CREATE TABLE trading.lint_probe (id bigint NOT NULL) PARTITION BY RANGE (id); "
        "CREATE TABLE trading.lint_probe_1 PARTITION OF trading.lint_probe "
        "FOR VALUES FROM (0) TO (100)",
    ),
    _F(
        "inherit",
        "ALTER TABLE [NO] INHERIT (the parent)",
        "ShareUpdateExclusiveLock",
        "none",
        "ALTER TABLE trading.lint_probe INHERIT trading.venue_balances",
        "trading.venue_balances",
        note="the child is locked ACCESS EXCLUSIVE",
        setup="CREATE TABLE trading.lint_probe (LIKE trading.venue_balances INCLUDING CONSTRAINTS)",
    ),
    _F(
        "enable_rls",
        "ALTER TABLE ENABLE ROW LEVEL SECURITY",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills ENABLE ROW LEVEL SECURITY",
        "trading.fills",
    ),
    _F(
        "foreign_key_other_table",
        "a foreign key dropped or re-created (its other table)",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills DROP CONSTRAINT fills_intent_id_fkey",
        "trading.order_intents",
        note="a foreign key is triggers on both tables: dropping it (DROP CONSTRAINT, DROP "
        "TABLE, a CASCADE) or re-creating it (a column type change) locks the other one too",
    ),
    _F(
        "rename_constraint",
        "ALTER TABLE RENAME CONSTRAINT",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills RENAME CONSTRAINT fills_liquidity_check TO lint_probe",
        "trading.fills",
    ),
    _F(
        "set_schema",
        "ALTER ... SET SCHEMA",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.venue_balances SET SCHEMA public",
        "trading.venue_balances",
        note="its indexes and owned sequences move with it",
    ),
    _F(
        "alter_table_other",
        "ALTER TABLE (other subcommands)",
        "AccessExclusiveLock",
        "none",
        "ALTER TABLE trading.fills OWNER TO CURRENT_USER",
        "trading.fills",
        note="the default level of ALTER TABLE",
    ),
    _F(
        "create_trigger",
        "CREATE TRIGGER",
        "ShareRowExclusiveLock",
        "none",
        "CREATE TRIGGER lint_probe AFTER INSERT ON trading.fills FOR EACH ROW "
        "EXECUTE FUNCTION suppress_redundant_updates_trigger()",
        "trading.fills",
    ),
    _F(
        "drop_trigger",
        "DROP TRIGGER",
        "AccessExclusiveLock",
        "none",
        "DROP TRIGGER fills_notify ON trading.fills",
        "trading.fills",
    ),
    _F(
        "drop_function_cascade",
        "DROP FUNCTION ... CASCADE, a table whose trigger executes it (the trigger is dropped)",
        "AccessExclusiveLock",
        "none",
        "DROP FUNCTION trading.ipc_notify_trigger() CASCADE",
        "trading.fills",
        note="the CASCADE drops every trigger that executes the function, each as DROP TRIGGER "
        "does: ACCESS EXCLUSIVE on its table",
    ),
    _F(
        "enable_trigger",
        "ALTER TABLE ENABLE/DISABLE TRIGGER",
        "ShareRowExclusiveLock",
        "none",
        "ALTER TABLE trading.fills DISABLE TRIGGER fills_notify",
        "trading.fills",
    ),
    _F(
        "rename_trigger",
        "ALTER TRIGGER RENAME",
        "AccessExclusiveLock",
        "none",
        "ALTER TRIGGER fills_notify ON trading.fills RENAME TO lint_probe",
        "trading.fills",
    ),
    _F(
        "create_policy",
        "CREATE/ALTER/DROP POLICY",
        "AccessExclusiveLock",
        "none",
        "CREATE POLICY lint_probe ON trading.fills USING (true)",
        "trading.fills",
    ),
    _F(
        "comment",
        "COMMENT ON TABLE/COLUMN",
        "ShareUpdateExclusiveLock",
        "none",
        "COMMENT ON TABLE trading.fills IS 'probe'",
        "trading.fills",
    ),
    _F(
        "comment_relation",
        "COMMENT ON VIEW/MATERIALIZED VIEW/INDEX/SEQUENCE",
        "ShareUpdateExclusiveLock",
        "none",
        "COMMENT ON VIEW market_data.instrument_directory IS 'probe'",
        "market_data.instrument_directory",
        note="an index's comment is planned on its table",
    ),
    _F(
        "create_statistics",
        "CREATE/DROP STATISTICS",
        "ShareUpdateExclusiveLock",
        "none",
        "CREATE STATISTICS trading.lint_probe ON intent_id, fee FROM trading.fills",
        "trading.fills",
    ),
    _F(
        "publication",
        "CREATE/ALTER PUBLICATION ... TABLE",
        "ShareUpdateExclusiveLock",
        "none",
        "CREATE PUBLICATION lint_probe FOR TABLE trading.fills",
        "trading.fills",
    ),
    _F(
        "alter_sequence",
        "ALTER SEQUENCE",
        "ShareRowExclusiveLock",
        "rewrite",
        "ALTER SEQUENCE trading.fills_fill_id_seq RESTART WITH 1000",
        "trading.fills_fill_id_seq",
        note="nextval() waits until the migration commits; the rewrite is of the sequence's "
        "one page",
    ),
    _F(
        "drop_sequence",
        "DROP SEQUENCE",
        "AccessExclusiveLock",
        "none",
        "DROP SEQUENCE trading.lint_probe_seq",
        "trading.lint_probe_seq",
        setup="CREATE SEQUENCE trading.lint_probe_seq",
    ),
    _F(
        "create_table_references",
        "CREATE TABLE ... REFERENCES existing",
        "ShareRowExclusiveLock",
        "none",
        "CREATE TABLE trading.lint_probe (intent_id bigint REFERENCES trading.order_intents)",
        "trading.order_intents",
        note="the new table is empty; the referenced one is locked",
    ),
    _F(
        "create_view",
        "CREATE [OR REPLACE] VIEW over a table",
        "AccessShareLock",
        "none",
        "CREATE VIEW trading.lint_probe AS SELECT fill_id FROM trading.fills",
        "trading.fills",
    ),
    _F(
        "create_or_replace_view",
        "CREATE OR REPLACE VIEW (an existing view)",
        "AccessExclusiveLock",
        "none",
        "CREATE OR REPLACE VIEW trading.lint_probe AS SELECT fill_id, fee FROM trading.fills",
        "trading.lint_probe",
        setup="CREATE VIEW trading.lint_probe AS SELECT fill_id FROM trading.fills",
    ),
    _F(
        "refresh_matview",
        "REFRESH MATERIALIZED VIEW",
        "AccessExclusiveLock",
        "rewrite",
        "REFRESH MATERIALIZED VIEW trading.lint_probe",
        "trading.lint_probe",
        note="readers of the view wait for the whole query",
        setup="CREATE MATERIALIZED VIEW trading.lint_probe AS SELECT fill_id FROM trading.fills",
    ),
    _F(
        "refresh_matview_concurrently",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY",
        "ExclusiveLock",
        "scan",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY trading.lint_probe",
        "trading.lint_probe",
        note="readers go on; another refresh or a write waits",
        setup="CREATE MATERIALIZED VIEW trading.lint_probe AS SELECT fill_id FROM trading.fills; "
        "CREATE UNIQUE INDEX lint_probe_idx ON trading.lint_probe (fill_id)",
    ),
    _F(
        "drop_table",
        "DROP TABLE",
        "AccessExclusiveLock",
        "none",
        "DROP TABLE trading.fills CASCADE",
        "trading.fills",
    ),
    _F(
        "truncate",
        "TRUNCATE",
        "AccessExclusiveLock",
        "rewrite",
        "TRUNCATE trading.fills CASCADE",
        "trading.fills",
    ),
    _F(
        "truncate_cascade",
        "TRUNCATE ... CASCADE (a referencing table)",
        "AccessExclusiveLock",
        "rewrite",
        "TRUNCATE trading.order_intents CASCADE",
        "trading.order_events",
        note="every table whose foreign key reaches the truncated one is truncated too",
    ),
    _F(
        "insert",
        "INSERT",
        "RowExclusiveLock",
        "none",
        "INSERT INTO trading.fills OVERRIDING SYSTEM VALUE SELECT * FROM trading.fills WHERE false",
        "trading.fills",
    ),
    _F(
        "update",
        "UPDATE",
        "RowExclusiveLock",
        "scan",
        "UPDATE trading.fills SET fee = fee",
        "trading.fills",
        note="writes a new version of every matched row and holds their row locks to commit",
    ),
    _F(
        "delete", "DELETE", "RowExclusiveLock", "scan", "DELETE FROM trading.fills", "trading.fills"
    ),
    _F(
        "select",
        "SELECT (in a migration)",
        "AccessShareLock",
        "scan",
        "SELECT count(*) FROM trading.fills",
        "trading.fills",
    ),
    _F(
        "analyze",
        "ANALYZE",
        "ShareUpdateExclusiveLock",
        "scan",
        "ANALYZE trading.fills",
        "trading.fills",
    ),
    _F(
        "vacuum",
        "VACUUM",
        "ShareUpdateExclusiveLock",
        "scan",
        "VACUUM trading.fills",
        "trading.fills",
        concurrent=True,
    ),
    _F(
        "vacuum_full",
        "VACUUM FULL",
        "AccessExclusiveLock",
        "rewrite",
        "VACUUM FULL trading.fills",
        "trading.fills",
        concurrent=True,
    ),
    _F(
        "cluster",
        "CLUSTER",
        "AccessExclusiveLock",
        "rewrite",
        "CLUSTER trading.fills USING fills_pkey",
        "trading.fills",
    ),
    _F(
        "do_block",
        "DO block (its body not analysed: what it names)",
        "AccessExclusiveLock",
        "none",
        "DO $$ BEGIN ALTER TABLE trading.fills ADD COLUMN lint_probe text; END $$",
        "trading.fills",
        note="planned ACCESS EXCLUSIVE on every relation its body names; a name it builds at run "
        "time is not seen",
    ),
    _F(
        "lock_table",
        "LOCK TABLE (default mode)",
        "AccessExclusiveLock",
        "none",
        "LOCK TABLE trading.fills",
        "trading.fills",
    ),
)

BY_KEY: dict[str, LockForm] = {form.key: form for form in FORMS}

LOCK_TABLE_MODES: dict[str, str] = {label(mode): mode for mode in MODES}
