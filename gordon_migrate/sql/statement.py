"""What the engine needs to know about one statement: the relations it names, and whether it
only ever takes SHARE UPDATE EXCLUSIVE (the ``CONCURRENTLY`` index forms, plain VACUUM/ANALYZE).

Those statements block no reader or writer, so a short ``lock_timeout`` protects nothing
there; it only breaks them while they wait for old snapshots (``CREATE INDEX CONCURRENTLY``
waits for every transaction older than its own phases) and leaves an INVALID index behind.
Called only when there is work (pglast is not on the no-op path). Other statements that take
only SHARE UPDATE EXCLUSIVE (VALIDATE CONSTRAINT, SET STATISTICS, ...) are left lock-taking on
purpose: they wait for no snapshot, so a lock_timeout there costs a retry, never an INVALID
index. ``tests/unit/test_statement_agrees_with_lint.py`` holds this classification to lint's
lock plan on the lock corpus, which ``tests/test_lock_truth.py`` holds to the server.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatementInfo:
    relations: tuple[str, ...]
    """Relations the statement names, as written (``schema.name`` or ``name``)."""
    share_update_exclusive_only: bool
    """Takes nothing stronger than SHARE UPDATE EXCLUSIVE: blocks no reads or writes."""
    concurrent_index: str | None = None
    """``CREATE INDEX CONCURRENTLY``: the index it builds, qualified like its table."""


_UNKNOWN = StatementInfo(relations=(), share_update_exclusive_only=False)


def inspect(text: str) -> StatementInfo:
    """Classify one statement; unknown or unparsable text is treated as lock-taking."""
    from pglast import ast, enums, parse_sql
    from pglast.parser import ParseError
    from pglast.visitors import referenced_relations

    try:
        parsed = parse_sql(text)
    except ParseError:
        return _UNKNOWN
    if len(parsed) != 1 or parsed[0].stmt is None:
        return _UNKNOWN
    stmt = parsed[0].stmt
    relations = tuple(sorted(referenced_relations(text)))
    index: str | None = None
    light = False
    if isinstance(stmt, ast.IndexStmt) and stmt.concurrent:
        light = True
        table = stmt.relation
        if stmt.idxname and table is not None:
            index = f"{table.schemaname}.{stmt.idxname}" if table.schemaname else stmt.idxname
    elif isinstance(stmt, ast.DropStmt):
        light = bool(stmt.concurrent) and stmt.removeType == enums.ObjectType.OBJECT_INDEX
    elif isinstance(stmt, ast.ReindexStmt):
        light = any(p.defname == "concurrently" for p in stmt.params or ())
    # DETACH PARTITION ... CONCURRENTLY is not light: its second transaction takes ACCESS
    # EXCLUSIVE on the partition (tests/test_lint_locks.py watches it wait for it).
    elif isinstance(stmt, ast.VacuumStmt):
        light = not any(o.defname == "full" for o in stmt.options or ())
    return StatementInfo(
        relations=relations, share_update_exclusive_only=light, concurrent_index=index
    )
