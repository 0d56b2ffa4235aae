"""The rules: what each one catches, why it hurts, and the safe rewrite (squawk's ``help:``)."""

from __future__ import annotations

from gordon_migrate.lint.model import Rule

# Live-size thresholds (``--database-url``): a table below BOTH is "small", and a lock or
# rewrite hazard on it is a warning instead of an error. 10 000 rows or 16 MiB rewrite in well
# under a second on the production hardware, so readers queued behind the lock stall that
# long at most. (apply's lock_timeout, 100 ms per attempt, bounds the wait for a lock, not how
# long a rewrite then holds it.)
SMALL_TABLE_ROWS = 10_000
SMALL_TABLE_BYTES = 16 * 1024 * 1024

_R = Rule
RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # Lock and rewrite hazards (on an existing table; a table created earlier in the same
        # migration is new and empty, so they do not apply to it).
        _R("index-not-concurrent", "error", "CREATE/DROP INDEX without CONCURRENTLY"),
        _R("concurrently-in-transaction", "error", "CONCURRENTLY/VACUUM in a transaction"),
        _R("no-transaction-not-rerunnable", "error", "no-transaction step not safe to re-run"),
        _R("add-column-not-null-no-default", "error", "ADD COLUMN NOT NULL without DEFAULT"),
        _R("add-column-volatile-default", "error", "ADD COLUMN with a volatile default"),
        _R("add-column-stored-generated", "error", "ADD COLUMN GENERATED ... STORED"),
        _R("alter-column-type", "error", "ALTER COLUMN TYPE"),
        _R("set-not-null-without-check", "error", "SET NOT NULL without a validated CHECK"),
        _R("constraint-without-not-valid", "error", "ADD CHECK/FOREIGN KEY without NOT VALID"),
        _R("validate-in-same-transaction", "error", "VALIDATE in the transaction of its ADD"),
        _R("unique-without-index", "error", "ADD UNIQUE/PRIMARY KEY not USING INDEX"),
        _R("drop-column", "error", "DROP COLUMN"),
        _R("drop-table", "error", "DROP TABLE/VIEW"),
        _R("rename-column", "error", "RENAME COLUMN"),
        _R("rename-table", "error", "RENAME TABLE/VIEW"),
        _R("unbatched-dml", "error", "UPDATE/DELETE without WHERE"),
        _R("table-rewrite-command", "error", "VACUUM FULL / CLUSTER / SET (UN)LOGGED"),
        _R("lock-table", "error", "LOCK TABLE"),
        _R("reindex-not-concurrent", "error", "REINDEX without CONCURRENTLY"),
        _R("transaction-control", "error", "BEGIN/COMMIT/ROLLBACK in a migration"),
        _R("session-setting-leak", "error", "top-level SET/SET ROLE/RESET"),
        _R("nul-or-bom", "error", "NUL byte or byte-order mark"),
        _R("syntax-error", "error", "the file does not parse"),
        # The Gordon contract.
        _R("grant-decision-missing", "error", "new table/view without GRANT/REVOKE"),
        _R("security-definer", "error", "SECURITY DEFINER function"),
        _R("function-search-path", "error", "function without a fixed search_path"),
        _R("notify-channel", "error", "NOTIFY channel outside the allowlist"),
        _R("grant-to-public", "error", "GRANT to PUBLIC"),
        # Waivers themselves.
        _R("waiver-without-reason", "error", "gordon:allow without a reason"),
        _R("waiver-unknown-rule", "error", "gordon:allow names no rule"),
        _R("waiver-unused", "warning", "gordon:allow on a statement without that finding"),
    )
}

WHY: dict[str, str] = {
    "index-not-concurrent": (
        "CREATE INDEX holds SHARE on the table for the whole build, blocking every INSERT, "
        "UPDATE and DELETE for time proportional to the table's size; DROP INDEX takes ACCESS "
        "EXCLUSIVE (blocks reads too) and queues behind any long transaction"
    ),
    "concurrently-in-transaction": (
        "CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and VACUUM cannot run inside a "
        "transaction block: apply would fail on this statement"
    ),
    "no-transaction-not-rerunnable": (
        "a no-transaction migration that stops half-way stays dirty; after it is undone or "
        "finished by hand, re-running it must not fail on what already took effect"
    ),
    "add-column-not-null-no-default": (
        "existing rows have no value for the column: the statement fails on any non-empty table"
    ),
    "add-column-volatile-default": (
        "a volatile default is computed for every existing row: ACCESS EXCLUSIVE and a full "
        "table rewrite (reads and writes blocked for as long as the rewrite takes)"
    ),
    "add-column-stored-generated": (
        "a STORED generated column is computed for every existing row: ACCESS EXCLUSIVE and a "
        "full table rewrite"
    ),
    "alter-column-type": (
        "changing a column's type rewrites the table and rebuilds its indexes under ACCESS "
        "EXCLUSIVE (unless the change is binary-coercible, e.g. varchar(n) -> text)"
    ),
    "set-not-null-without-check": (
        "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE (reads and writes blocked) "
        "unless a validated CHECK (col IS NOT NULL) already proves it"
    ),
    "constraint-without-not-valid": (
        "adding a CHECK (ACCESS EXCLUSIVE) or FOREIGN KEY (SHARE ROW EXCLUSIVE on both tables) "
        "validates every existing row while holding the lock"
    ),
    "validate-in-same-transaction": (
        "the ADD ... NOT VALID earlier in this transaction still holds its lock (ACCESS "
        "EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE for a FOREIGN KEY) until COMMIT: the "
        "VALIDATE scan runs under it, exactly what NOT VALID was meant to avoid"
    ),
    "unique-without-index": (
        "ADD UNIQUE/PRIMARY KEY builds its index under ACCESS EXCLUSIVE: reads and writes "
        "blocked for the whole build"
    ),
    "drop-column": (
        "running services still select or insert the column: they fail from the moment the "
        "migration commits (deploys are not atomic with migrations)"
    ),
    "drop-table": (
        "running services still use the relation (or the schema's relations): they fail once "
        "it is gone"
    ),
    "rename-column": "running services still use the old name: they fail once it commits",
    "rename-table": "running services still use the old name: they fail once it commits",
    "unbatched-dml": (
        "one statement rewrites or deletes every row: row locks on the whole table until "
        "commit, WAL and bloat proportional to its size, and a long transaction"
    ),
    "table-rewrite-command": (
        "VACUUM FULL, CLUSTER and SET LOGGED/UNLOGGED rewrite the table under ACCESS "
        "EXCLUSIVE: reads and writes blocked for the whole rewrite"
    ),
    "lock-table": (
        "an explicit table lock held to the end of the migration blocks the services using it"
    ),
    "reindex-not-concurrent": (
        "REINDEX holds SHARE on the table (writes blocked) and ACCESS EXCLUSIVE on each index "
        "(reads using it blocked) for the whole rebuild"
    ),
    "transaction-control": (
        "apply runs each migration in its own transaction with its history row: a COMMIT or "
        "ROLLBACK inside it breaks that atomicity"
    ),
    "session-setting-leak": (
        "apply runs every migration of a run on one connection: a session-level SET, SET ROLE "
        "or RESET changes how the later migrations of the run behave"
    ),
    "nul-or-bom": (
        "a NUL byte or a byte-order mark changes the checksum invisibly and confuses editors, "
        "diffs and psql"
    ),
    "syntax-error": "the migration would fail at apply",
    "grant-decision-missing": (
        "the grant matrix is the security contract: every new relation in a Gordon schema needs "
        "an explicit GRANT or REVOKE in the migration that creates it"
    ),
    "security-definer": (
        "a SECURITY DEFINER function runs with its owner's (the migrator's) privileges: every "
        "caller can do what the migrator can"
    ),
    "function-search-path": (
        "without a fixed search_path a function resolves names through the caller's path: "
        "a caller's schema can shadow tables and operators"
    ),
    "notify-channel": (
        "services listen on the pinned channels of fixtures/notify_allowlist.txt; any other, "
        "or one that cannot be determined statically, fails drift-check"
    ),
    "grant-to-public": "PUBLIC is every role, present and future: the grant matrix forbids it",
    "waiver-without-reason": "a waiver must say why the hazard is acceptable",
    "waiver-unknown-rule": "a waiver of no rule waives nothing",
    "waiver-unused": (
        "a misplaced waiver hides nothing today, and may hide a real hazard of a later edit"
    ),
}

FIX: dict[str, str] = {
    "index-not-concurrent": (
        "use CREATE INDEX CONCURRENTLY IF NOT EXISTS / DROP INDEX CONCURRENTLY IF EXISTS in its "
        "own `-- no-transaction` migration (a failed concurrent build leaves an INVALID index: "
        "drop it before re-running)"
    ),
    "concurrently-in-transaction": (
        "put the statement in its own migration whose first line is `-- no-transaction`"
    ),
    "no-transaction-not-rerunnable": (
        "write every statement with IF [NOT] EXISTS (or CREATE OR REPLACE), or split the migration"
    ),
    "add-column-not-null-no-default": (
        "add the column nullable (or with a constant DEFAULT), backfill in batches, then add "
        "CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, and SET NOT NULL"
    ),
    "add-column-volatile-default": (
        "add the column without default (or with a constant one), SET DEFAULT afterwards, and "
        "backfill existing rows in batches"
    ),
    "add-column-stored-generated": (
        "add a plain nullable column, fill it from a trigger plus a batched backfill, or "
        "compute it in a view"
    ),
    "alter-column-type": (
        "add a new column of the new type, dual-write and backfill in batches, then switch "
        "readers and drop the old one in a later release"
    ),
    "set-not-null-without-check": (
        "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; in a later migration VALIDATE "
        "CONSTRAINT c; then SET NOT NULL (no scan) and DROP CONSTRAINT c"
    ),
    "constraint-without-not-valid": (
        "ADD the constraint ... NOT VALID (brief lock, new rows checked), then VALIDATE "
        "CONSTRAINT in a separate step (SHARE UPDATE EXCLUSIVE: reads and writes go on)"
    ),
    "validate-in-same-transaction": (
        "VALIDATE CONSTRAINT in a later migration (its own transaction: SHARE UPDATE "
        "EXCLUSIVE only, reads and writes go on)"
    ),
    "unique-without-index": (
        "CREATE UNIQUE INDEX CONCURRENTLY in a `-- no-transaction` migration, then ADD "
        "CONSTRAINT ... UNIQUE USING INDEX (or PRIMARY KEY USING INDEX)"
    ),
    "drop-column": (
        "stop using the column in every service first, release, then drop it in a later "
        "migration (with a waiver naming the release)"
    ),
    "drop-table": (
        "stop using it in every service first, release, then drop it in a later migration"
    ),
    "rename-column": (
        "add the new column, dual-write, backfill, switch readers, drop the old one later "
        "(or keep a view with the old name)"
    ),
    "rename-table": "create the new name as a view of the old (or vice versa) during the switch",
    "unbatched-dml": (
        "backfill in batches of a few thousand keys per statement (outside the deploy gate, "
        "or in a `-- no-transaction` migration), or add a WHERE that bounds the rows"
    ),
    "table-rewrite-command": "use pg_repack or a plain VACUUM; never in a migration",
    "lock-table": "rely on the statements' own locks, each bounded by lock_timeout",
    "reindex-not-concurrent": "REINDEX ... CONCURRENTLY in a `-- no-transaction` migration",
    "transaction-control": (
        "remove it; a migration that must not run in a transaction starts with `-- no-transaction`"
    ),
    "session-setting-leak": "use SET LOCAL (transaction-scoped), or a function's SET clause",
    "nul-or-bom": "save the file as UTF-8 without BOM and remove the NUL bytes",
    "syntax-error": "fix the SQL",
    "grant-decision-missing": (
        "GRANT to the runtime roles that need it, or REVOKE ALL ... FROM PUBLIC to record that "
        "none does; then `gordon-migrate fixtures update`"
    ),
    "security-definer": (
        "use SECURITY INVOKER and grant what the callers need; if unavoidable, waive it with "
        "the reason, SET search_path = pg_catalog, and REVOKE EXECUTE FROM PUBLIC"
    ),
    "function-search-path": "add SET search_path = pg_catalog (and schema-qualify every name)",
    "notify-channel": (
        "notify on a literal, allow-listed channel; for a new channel run "
        "`gordon-migrate fixtures update` and review the allowlist diff"
    ),
    "grant-to-public": "grant to the runtime role that needs it instead",
    "waiver-without-reason": "write `-- gordon:allow RULE-ID why this is acceptable`",
    "waiver-unknown-rule": "name a rule of `gordon-migrate lint --rules`",
    "waiver-unused": "put the waiver on, or just above, the statement it is for; or remove it",
}
