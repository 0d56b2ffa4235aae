"""notify-channel: NOTIFY channel outside the allowlist."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint.analyze import _strings
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site
from gordon_migrate.sql import notify


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    allowlist = facts.allowlist
    if isinstance(node, ast.CreateTrigStmt):
        names = _strings(node.funcname)
        if names and names[-1] == notify.IPC_TRIGGER_FUNCTION:
            relation = facts.relation(node.relation)
            args = _strings(node.args)
            if not args:
                yield Hit(
                    f"trigger {node.trigname} calls {notify.IPC_TRIGGER_FUNCTION} without a channel"
                )
            elif args[0] not in allowlist:
                yield Hit(
                    f"trigger {node.trigname} on {relation} notifies on channel {args[0]!r}, "
                    "not in the allowlist",
                    relation,
                )
    elif isinstance(node, ast.CreateFunctionStmt):
        names = _strings(node.funcname)
        kind = "procedure" if node.is_procedure else "function"
        options = [o for o in node.options or () if isinstance(o, ast.DefElem)]
        body = next((o.arg for o in options if o.defname == "as"), None)
        texts = _strings(body) if isinstance(body, tuple) else []
        ipc = bool(names) and names[-1] == notify.IPC_TRIGGER_FUNCTION
        for text in texts:
            yield from _sites(
                notify.sites(text, ipc_function=ipc), f"{kind} {'.'.join(names)}", allowlist
            )
    elif isinstance(node, ast.DoStmt):
        for arg in node.args or ():
            if (
                isinstance(arg, ast.DefElem)
                and arg.defname == "as"
                and isinstance(arg.arg, ast.String)
            ):
                yield from _sites(notify.sites(arg.arg.sval or ""), "DO block", allowlist)
    # NOTIFY and pg_notify() at the top level of a statement (not inside bodies).
    elif isinstance(node, ast.NotifyStmt):
        channel = node.conditionname or ""
        yield from _sites([notify.Site(channel, f"NOTIFY {channel}")], "NOTIFY", allowlist)
    elif isinstance(
        node, ast.SelectStmt | ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt | ast.RuleStmt
    ):
        yield from _sites(notify.sites(site.text), "statement", allowlist)


def _sites(sites: list[notify.Site], where: str, allowlist: frozenset[str]) -> Iterator[Hit]:
    for found in sites:
        if found.argv_index is not None:
            continue  # ipc_notify_trigger: its channels are its triggers' arguments
        if found.channel is None:
            yield Hit(f"{where}: channel of `{found.code}` cannot be determined statically")
        elif found.channel not in allowlist:
            yield Hit(f"{where}: channel {found.channel!r} is not in the allowlist")


RULE = Rule(
    id="notify-channel",
    order=270,
    severity="error",
    summary="NOTIFY channel outside the allowlist",
    why=(
        "services listen on the pinned channels of fixtures/notify_allowlist.txt; any other, "
        "or one that cannot be determined statically, fails drift-check"
    ),
    fix=(
        "notify on a literal, allow-listed channel; for a new channel run `gordon-migrate "
        "fixtures update` and review the allowlist diff"
    ),
    fails=(
        "NOTIFY debug_channel;",
        "SELECT pg_notify(current_user, 'x');",
    ),
    passes=("SELECT 1;",),
    sites=frozenset({"statement"}),
    check=check,
)
