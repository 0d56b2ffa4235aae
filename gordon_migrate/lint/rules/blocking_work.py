"""blocking-work: a statement the rehearsal saw rewrite or fully scan an existing table while
holding a lock that blocks the services, which no rule written for its form reported.

The static rules name the forms they know (``ALTER COLUMN ... TYPE``, ``SET NOT NULL``, ...);
the server knows every form, the new ones of the next major included. Given what a rehearsal
measured of the statement (``lint --database-url``, ``apply --dry-run``, ``apply``), this rule
reports what the server did that no other finding on the statement already names. Scaled by
the live size like the static rules (a small table's is a warning).
"""

from __future__ import annotations

from collections.abc import Iterator

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site, existing_locks
from gordon_migrate.rehearse.cost import blocking

_TABLES = ("table", "partitioned table", "materialized view")


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    measured = facts.measured_here()
    if measured is None:
        return
    statement, earlier = measured
    # Tables only: an index rebuilt is the scan of its table, which is reported.
    modes = {
        lock.object: lock.mode
        for lock in existing_locks(statement, earlier)
        if lock.kind in _TABLES
    }
    for work, relations in (("rewrote", statement.rewritten), ("scanned", statement.scanned)):
        for relation in relations:
            mode = modes.get(relation)
            if mode is None or not blocking(mode) or facts.reported_here(relation):
                continue
            if work == "scanned" and relation in statement.rewritten:
                continue  # said once, as the rewrite it is part of
            yield Hit(
                f"rehearsal saw this statement {work} existing table {relation} while holding "
                f"{mode} on it",
                relation,
                scaled=True,
            )


RULE = Rule(
    id="blocking-work",
    order=217,
    severity="error",
    summary=(
        "rewrites or scans an existing table under a blocking lock, as rehearsal measured it "
        "(only with a server), where no rule for the statement's form said so"
    ),
    why=(
        "a rewrite or a full scan under SHARE or a stronger lock blocks the services' writes "
        "(ACCESS EXCLUSIVE: their reads too) for as long as the table takes to go through; the "
        "static rules know the forms written into them, the server every form. Measured on a "
        "scratch, so only `lint --database-url`, `apply --dry-run` and `apply` see it; its "
        "failing cases are server tests (tests/test_lint_measured.py)"
    ),
    fix=(
        "find the form that does the change without the rewrite or the scan under that lock "
        "(NOT VALID then VALIDATE, a new column and a batched backfill, CONCURRENTLY), or waive "
        "it on the statement with `-- gordon:allow blocking-work <reason>` when the table is "
        "known small"
    ),
    fails=(),
    passes=("ALTER TABLE trading.fills SET (fillfactor = 90);",),
    sites=frozenset({"file_statement"}),
    check=check,
    rehearsed=True,
)
