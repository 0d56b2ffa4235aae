"""large-delete: DELETE ... WHERE on an existing table that neither pins its key nor batches."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.lint.nodes import nodes_of
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site
from gordon_migrate.lint.rules.backfill_under_lock import held_lock


def _conjuncts(where: object) -> list[object]:
    if isinstance(where, ast.BoolExpr) and where.boolop == enums.BoolExprType.AND_EXPR:
        return [c for arg in where.args or () for c in _conjuncts(arg)]
    return [where]


def _column(expr: object) -> str | None:
    if isinstance(expr, ast.ColumnRef) and expr.fields:
        last = expr.fields[-1]
        return last.sval if isinstance(last, ast.String) else None
    return None


def _batch(conjunct: object) -> bool:
    """``key IN (SELECT ... LIMIT n)``: the batch shape, a bounded number of rows."""
    return (
        isinstance(conjunct, ast.SubLink)
        and conjunct.subLinkType == enums.SubLinkType.ANY_SUBLINK
        and isinstance(conjunct.subselect, ast.SelectStmt)
        and conjunct.subselect.limitCount is not None
    )


def _pinned(conjunct: object) -> str | None:
    """The column ``col = <value>`` or ``col IN (<values>)`` pins to a few values."""
    if not isinstance(conjunct, ast.A_Expr) or not conjunct.name:
        return None
    op = conjunct.name[-1]
    if not isinstance(op, ast.String) or op.sval != "=":
        return None
    kind = enums.A_Expr_Kind
    if conjunct.kind == kind.AEXPR_IN and isinstance(conjunct.rexpr, tuple):
        values: tuple[object, ...] = conjunct.rexpr
    elif conjunct.kind == kind.AEXPR_OP:
        values = (conjunct.rexpr,)
    else:
        return None
    if any(_reads_columns(v) for v in values):
        return None
    return _column(conjunct.lexpr)


def _reads_columns(node: object) -> bool:
    """A value that reads no column is one value for every row (``now()``, ``$1``, a cast)."""
    return next(nodes_of(node, ast.ColumnRef), None) is not None


def bounded(node: ast.DeleteStmt, facts: Facts) -> bool:
    """The WHERE bounds the rows by construction: a batch, or every column of the table's
    primary key pinned to values (a key the bundle does not show bounds nothing here)."""
    conjuncts = _conjuncts(node.whereClause)
    if any(_batch(c) for c in conjuncts):
        return True
    key = facts.catalog.primary_keys.get(facts.relation(node.relation), ())
    pinned = {_pinned(c) for c in conjuncts}
    return bool(key) and all(column in pinned for column in key)


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    # No WHERE is unbatched-dml's; under an earlier lock, backfill-under-lock's.
    if not isinstance(node, ast.DeleteStmt) or node.whereClause is None:
        return
    relation = facts.relation(node.relation)
    if facts.new(relation) or held_lock(node, facts) is not None or bounded(node, facts):
        return
    yield Hit(
        f"DELETE from {relation} WHERE ... deletes every row that matches in one statement: "
        "how many is a fact of the live table, not of the migration",
        relation,
        scaled=True,
    )


RULE = Rule(
    id="large-delete",
    order=161,
    severity="error",
    summary="DELETE ... WHERE with no bound on the rows",
    why=(
        "a WHERE is not a batch: one transaction deletes every matching row, holding their "
        "row locks (the services' updates of them wait) until commit, with a WAL burst, "
        "replicas lagging and the table bloated by as many dead rows"
    ),
    fix=(
        "delete from a job, in batches that each commit: `DELETE FROM t WHERE id IN (SELECT id "
        "FROM t WHERE ... LIMIT 5000)` until it deletes nothing; a migration keeps only "
        "deletes that pin the primary key"
    ),
    fails=(
        "DELETE FROM trading.order_events WHERE occurred_at < now() - interval '90 days';",
        "DELETE FROM market_data.candles WHERE timeframe = '1m';",
        # the key is not known to be id here: a bound the bundle cannot show is no bound
        "DELETE FROM trading.fills WHERE id < 1000;",
        # its own transaction is still one transaction for every matching row
        "-- no-transaction\nDELETE FROM market_data.candles WHERE timeframe = '1m';",
    ),
    passes=(
        # the batch shape
        (
            "DELETE FROM trading.order_events WHERE event_id IN (SELECT event_id FROM "
            "trading.order_events WHERE occurred_at < now() - interval '90 days' LIMIT 5000);"
        ),
        # every row: unbatched-dml's
        "DELETE FROM trading.order_events;",
        # a table of this migration
        (
            "CREATE TABLE trading.scratch (id int PRIMARY KEY, a int);\n"
            "REVOKE ALL ON trading.scratch FROM PUBLIC;\n"
            "DELETE FROM trading.scratch WHERE a > 1;"
        ),
        # under an earlier blocking lock: backfill-under-lock's
        (
            "ALTER TABLE trading.fills ADD CONSTRAINT fills_qty CHECK (quantity > 0);\n"
            "DELETE FROM trading.fills WHERE quantity <= 0;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
