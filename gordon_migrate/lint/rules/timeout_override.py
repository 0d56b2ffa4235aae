"""timeout-override: a timeout disabled or raised inside a migration."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from gordon_migrate.core.durations import format_ms, parse_ms
from gordon_migrate.core.errors import ConfigError
from gordon_migrate.lint.analyze import _strings
from gordon_migrate.lint.nodes import nodes_of
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site

# apply's defaults (apply/options.py, which lint may not import: it sits above lint), with the
# header directive that changes each; tests/unit/test_lint_rules.py checks they are apply's.
LOCK_TIMEOUT_MS = 100
STATEMENT_TIMEOUT_MS = 15 * 60_000
IDLE_IN_TRANSACTION_MS = 10_000
TIMEOUTS: dict[str, tuple[int, str | None]] = {
    "lock_timeout": (LOCK_TIMEOUT_MS, "lock-timeout"),
    "statement_timeout": (STATEMENT_TIMEOUT_MS, "statement-timeout"),
    "idle_in_transaction_session_timeout": (IDLE_IN_TRANSACTION_MS, None),
}


def override(node: object) -> str | None:
    """What is wrong with one ``SET``/``RESET`` or ``set_config()`` call, when it disables,
    raises or resets one of apply's timeouts; None otherwise (session-setting-leak judges the
    rest)."""
    if isinstance(node, ast.VariableSetStmt):
        name = (node.name or "").lower()
        if name not in TIMEOUTS:
            return None
        scope = "SET LOCAL" if node.is_local else "SET"
        kind = node.kind
        if kind in (enums.VariableSetKind.VAR_SET_DEFAULT, enums.VariableSetKind.VAR_RESET):
            verb = "RESET" if kind == enums.VariableSetKind.VAR_RESET else f"{scope} ... DEFAULT"
            return _judge(name, f"{verb} {name}", None)
        args = node.args or ()
        value = _constant(args[0]) if len(args) == 1 else None
        found = _judge(name, f"{scope} {name} = {value if value is not None else '...'}", value)
        return _leaks(found) if found is not None and not node.is_local else found
    if isinstance(node, ast.FuncCall) and (_strings(node.funcname) or [""])[-1] == "set_config":
        args = node.args or ()
        name = (_constant(args[0]) or "").lower() if args else ""
        if name not in TIMEOUTS or len(args) != 3:
            return None
        found = _judge(name, f"set_config('{name}', ...)", _constant(args[1]), computed=True)
        local = (_constant(args[2]) or "").lower() in {"t", "true", "on", "yes", "1"}
        return _leaks(found) if found is not None and not local else found
    return None


def _leaks(message: str) -> str:
    return f"{message} (session-level: it also leaks into the later migrations of the run)"


def _judge(name: str, what: str, value: str | None, *, computed: bool = False) -> str | None:
    default, directive = TIMEOUTS[name]
    example = "<duration>"
    if value is None:
        effect = (
            "sets it to a value lint cannot read"
            if computed
            else "puts it back to the server's default (0, no limit, unless the server sets one)"
        )
    else:
        try:
            ms = parse_ms(value, name)
        except ConfigError:
            ms = None
        if ms is None:
            effect = f"sets it to {value!r}, which lint cannot read"
        elif ms != 0 and ms <= default:
            return None
        elif ms == 0:
            effect = "disables it"
        else:
            effect = f"raises it to {format_ms(ms)}"
            example = format_ms(ms)
    head = f"{what} {effect}; apply runs every migration with {name} = {format_ms(default)}"
    if directive is None:
        return (
            f"{head}, so a vanished client's session cannot hold its locks: no migration needs "
            "it longer, remove the statement"
        )
    return f"{head}: declare a bound in the header instead, `-- gordon:{directive} {example}`"


def _constant(node: object) -> str | None:
    value = node.arg if isinstance(node, ast.TypeCast) else node
    if not isinstance(value, ast.A_Const) or value.isnull:
        return None
    const = value.val
    if isinstance(const, ast.Integer):
        return str(const.ival or 0)
    if isinstance(const, ast.Float):
        return const.fval
    if isinstance(const, ast.String):
        return const.sval or ""
    return None


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    found = [override(node)] if isinstance(node, ast.VariableSetStmt) else []
    if isinstance(node, ast.SelectStmt):
        found = [override(call) for call in nodes_of(node, ast.FuncCall)]
    for message in found:
        if message is not None:
            yield Hit(message)


RULE = Rule(
    id="timeout-override",
    order=213,
    severity="error",
    summary="timeout disabled or raised inside a migration",
    why=(
        "apply bounds every migration: lock_timeout is how long a lock request may queue (and "
        "stall every query behind it), statement_timeout how long a statement may run; a "
        "migration that lifts them hides the change from the reviewer, the lock plan and the "
        "operator (and a session-level SET leaks into the later migrations of the run)"
    ),
    fix=(
        "declare the bound in the migration's header, `-- gordon:lock-timeout 2s` or "
        "`-- gordon:statement-timeout 1h` (README: Timeouts); lowering one with SET LOCAL is fine"
    ),
    fails=(
        "SET LOCAL lock_timeout = 0;",
        "SET LOCAL lock_timeout = '2s';",
        "SET statement_timeout = 0;",
        "SET LOCAL statement_timeout TO '2h';",
        "SET LOCAL idle_in_transaction_session_timeout = '1min';",
        "RESET lock_timeout;",
        "SELECT set_config('lock_timeout', '0', true);",
        "SELECT set_config('statement_timeout', current_setting('x.y'), true);",
    ),
    passes=(
        "SET LOCAL lock_timeout = '50ms';",
        "SET LOCAL statement_timeout = '5min';",
        "SELECT set_config('lock_timeout', '100ms', true);",
        (
            "-- gordon:statement-timeout 1h\n"
            "UPDATE trading.fills SET venue = lower(venue) WHERE id < 9;"
        ),
    ),
    sites=frozenset({"statement"}),
    check=check,
)
