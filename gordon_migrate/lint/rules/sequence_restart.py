"""sequence-restart: RESTART of an existing identity column or sequence."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pglast import ast, enums

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def _restart(options: Sequence[object] | None) -> str | None:
    """``RESTART`` or ``RESTART WITH n`` when the options restart the counter, else None."""
    for option in options or ():
        if isinstance(option, ast.DefElem) and option.defname == "restart":
            if isinstance(option.arg, ast.Integer):
                return f"RESTART WITH {option.arg.ival}"
            # A value past int4 parses as a Float node carrying its digits.
            if isinstance(option.arg, ast.Float):
                return f"RESTART WITH {option.arg.fval}"
            return "RESTART"
    return None


def _hit(restart: str, what: str, relation: str) -> Hit:
    # RESTART WITH n is judged too: whether n is above max(key) is a fact of the live rows,
    # which no static reading has.
    return Hit(
        f"{restart} of {what}: the next keys collide with the live rows' (duplicate key "
        f"errors in the services) unless the restart value is above max() of the column",
        relation,
    )


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if (
        site.kind == "alter_cmd"
        and isinstance(node, ast.AlterTableCmd)
        and node.subtype == enums.AlterTableType.AT_SetIdentity
        and site.existing
        and site.relation is not None
    ):
        restart = _restart(node.def_ if isinstance(node.def_, tuple) else None)
        if restart is not None:
            yield _hit(restart, f"the identity {site.relation}.{site.name}", site.relation)
    elif site.kind == "statement" and isinstance(node, ast.AlterSeqStmt):
        restart = _restart(node.options)
        sequence = facts.relation(node.sequence)
        owner = facts.catalog.owned_sequences.get(sequence)
        new = facts.new(sequence) or (owner is not None and facts.new(owner[0]))
        if restart is not None and not new:
            owned = f" (owned by {owner[0]}.{owner[1]})" if owner is not None else ""
            yield _hit(restart, f"the sequence {sequence}{owned}", sequence)


RULE = Rule(
    id="sequence-restart",
    order=157,
    severity="error",
    summary="RESTART of an existing identity or sequence",
    why=(
        "the rows the services wrote keep their keys: a counter restarted at or below the "
        "highest one hands out keys that exist, and every INSERT that draws one fails with a "
        "duplicate key until the counter passes them"
    ),
    fix=(
        "leave the counter alone, or move it forward only: `SELECT setval(seq, max(id)) FROM "
        "table` reads the live maximum; a RESTART WITH a value checked against max() on the "
        "target is waived on the statement with that check as the reason"
    ),
    fails=(
        "ALTER TABLE trading.risk_events ALTER COLUMN event_id RESTART WITH 1;",
        "ALTER TABLE trading.risk_events ALTER COLUMN event_id RESTART;",
        "ALTER SEQUENCE trading.risk_audit_seq RESTART WITH 1000000;",
    ),
    passes=(
        # other identity options leave the counter where it is
        "ALTER TABLE trading.risk_events ALTER COLUMN event_id SET CACHE 10;",
        "ALTER SEQUENCE trading.risk_audit_seq INCREMENT BY 1;",
        # new in this migration: no live keys yet
        (
            "CREATE SEQUENCE trading.ticket_seq;\n"
            "REVOKE ALL ON SEQUENCE trading.ticket_seq FROM PUBLIC;\n"
            "ALTER SEQUENCE trading.ticket_seq RESTART WITH 100;"
        ),
        (
            "CREATE TABLE trading.tickets (id bigint GENERATED ALWAYS AS IDENTITY);\n"
            "REVOKE ALL ON trading.tickets FROM PUBLIC;\n"
            "ALTER TABLE trading.tickets ALTER COLUMN id RESTART WITH 100;"
        ),
    ),
    sites=frozenset({"statement", "alter_cmd"}),
    check=check,
)
