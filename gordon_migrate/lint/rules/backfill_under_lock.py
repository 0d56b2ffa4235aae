"""backfill-under-lock: DML on a table this migration already holds a blocking lock on."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint import locks
from gordon_migrate.lint.model import LockStep, StatementPlan
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

# SHARE and stronger: the modes that stop the services' writes (RowExclusiveLock) or more.
_BLOCKING = frozenset(m for m in locks.MODES if locks.conflicts(m, "RowExclusiveLock"))
# Not this rule's: an explicit LOCK TABLE and its hold to commit are lock-table's finding; a DO
# block's lock is a guess (every relation it names, at the strongest mode) that hidden-ddl
# reports as such.
_NOT_OURS = frozenset({locks.BY_KEY["lock_table"].title, locks.BY_KEY["do_block"].title})


def held_lock(node: object, facts: Facts) -> tuple[str, StatementPlan, LockStep] | None:
    """For a backfill (UPDATE, DELETE, INSERT ... SELECT) of an existing table: the table, and
    the earlier statement of this transaction whose blocking lock on it is still held."""
    if facts.no_transaction:
        return None
    if isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
        target = node.relation
    elif isinstance(node, ast.InsertStmt) and isinstance(node.selectStmt, ast.SelectStmt):
        if node.selectStmt.valuesLists:
            return None
        target = node.relation
    else:
        return None
    relation = facts.relation(target)
    if facts.new(relation):
        return None
    for plan in facts.plans[:-1]:
        for step in plan.steps:
            if (
                step.relation == relation
                and step.mode in _BLOCKING
                and not step.new_relation
                and step.form not in _NOT_OURS
            ):
                return relation, plan, step
    return None


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    held = held_lock(site.node, facts)
    if held is None:
        return
    relation, plan, step = held
    verb = type(site.node).__name__.removesuffix("Stmt").upper()
    every = (
        " of every row (no WHERE)"
        if isinstance(site.node, ast.UpdateStmt | ast.DeleteStmt) and site.node.whereClause is None
        else ""
    )
    yield Hit(
        f"{verb}{every} of {relation} runs while the {locks.label(step.mode)} lock of "
        f"{step.form} (line {plan.line}) is held: {step.blocks} on {relation} wait for the "
        "whole backfill, until the migration commits",
        relation,
        scaled=True,
    )


RULE = Rule(
    id="backfill-under-lock",
    order=163,
    severity="error",
    summary="DML under a blocking lock taken earlier in the transaction",
    why=(
        "a migration is one transaction: the SHARE or stronger lock an earlier statement took "
        "on the table (ADD COLUMN, ALTER ..., a constraint) is held until commit, so the "
        "services' writes (or reads) on it stall for the whole backfill"
    ),
    fix=(
        "commit the DDL in its own migration and backfill in the next one, in batches "
        "(a `-- no-transaction` migration runs each statement in its own transaction)"
    ),
    fails=(
        (
            "ALTER TABLE trading.fills ADD COLUMN venue_code text;\n"
            "UPDATE trading.fills SET venue_code = upper(venue) WHERE id < 1000;"
        ),
        (
            "ALTER TABLE trading.fills ADD CONSTRAINT fills_qty CHECK (quantity > 0);\n"
            "DELETE FROM trading.fills WHERE quantity <= 0;"
        ),
        (
            "CREATE INDEX fills_venue_idx ON trading.fills (venue);\n"
            "INSERT INTO trading.fills SELECT * FROM trading.fills_staging;"
        ),
    ),
    passes=(
        # a new table: nobody else can be waiting on it
        (
            "CREATE TABLE trading.fee_tiers (id int PRIMARY KEY, tier text);\n"
            "ALTER TABLE trading.fee_tiers ADD COLUMN note text;\n"
            "INSERT INTO trading.fee_tiers SELECT id, 'base', NULL FROM trading.fills;"
        ),
        # each statement commits on its own
        (
            "-- no-transaction\n"
            "ALTER TABLE trading.fills ADD COLUMN venue_code text;\n"
            "UPDATE trading.fills SET venue_code = upper(venue) WHERE id < 1000;"
        ),
        # the lock is on another table; INSERT ... VALUES is no backfill
        (
            "ALTER TABLE trading.runs ADD COLUMN notes text;\n"
            "UPDATE trading.fills SET venue = lower(venue) WHERE id < 1000;\n"
            "INSERT INTO trading.runs (notes) VALUES ('x');"
        ),
        # a DO block's lock is not known (hidden-ddl's warning)
        (
            "DO $$ BEGIN PERFORM count(*) FROM trading.fills; END $$;\n"
            "UPDATE trading.fills SET venue = lower(venue) WHERE id < 1000;"
        ),
        # SHARE UPDATE EXCLUSIVE (VALIDATE) does not block writes
        (
            "ALTER TABLE trading.fills VALIDATE CONSTRAINT fills_qty;\n"
            "UPDATE trading.fills SET venue = lower(venue) WHERE id < 1000;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
