"""``gordon-migrate lint``: loaded by the group only when it runs.

Thin: load the migrations, call ``gordon_migrate.lint``, render, exit 0/1. Static unless
``--database-url`` (``settings.flag_url``) or ``--embedded`` is given on the command line;
then the target's pending migrations get their resolved plans (pinned, else rehearsed on a
scratch, or guessed with ``--static-plan``) and their predicted lock holds, and a rehearsed
one's measured facts are judged by lint's rules over them (``access-contract``, ``hidden-ddl``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gordon_migrate.cli.options import (
    common_options,
    emit_json,
    fixtures_dir_option,
    on_the_fly,
    plan_options,
    setup,
)
from gordon_migrate.core.settings import flag_url, resolve_dsn


def _remember_format(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta["format"] = value
    return value


@click.command("lint")
@common_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    is_eager=True,
    callback=_remember_format,
    help="text; json (one document); sarif (SARIF 2.1.0, for code scanning); github "
    "(workflow annotations).",
)
@fixtures_dir_option
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Baseline of grandfathered findings (default: the bundled lint/baseline.txt).",
)
@click.option(
    "--write-baseline",
    is_flag=True,
    help="Record every finding of the migrations as the baseline (review the diff).",
)
@click.option(
    "--show-grandfathered", is_flag=True, help="Also print findings the baseline grandfathers."
)
@click.option("--rules", "list_rules", is_flag=True, help="List every rule and exit.")
@click.option(
    "--explain",
    "explain_rule",
    metavar="RULE",
    default=None,
    help="Print a rule's doc (why, safe rewrite, a failing and a passing case) and exit.",
)
@plan_options
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def lint(
    ctx: click.Context,
    /,
    fmt: str,
    fixtures_dir: Path | None,
    baseline_file: Path | None,
    write_baseline: bool,
    show_grandfathered: bool,
    list_rules: bool,
    explain_rule: str | None,
    scratch_url: str | None,
    static_plan: bool,
    files: tuple[Path, ...],
) -> None:
    """Lock hazards and Gordon contract breaks in migrations (default: the bundle); exit 1 on
    an error-level finding that is neither grandfathered nor waived."""
    settings = setup(ctx)
    if list_rules:
        from gordon_migrate.lint.rules import registry

        for rule in registry().values():
            click.echo(f"{rule.id:32}  {rule.severity:7}  {rule.summary}")
        return
    if explain_rule is not None:
        _explain(explain_rule)
        return
    from gordon_migrate.core import bundle
    from gordon_migrate.core.errors import ConfigError
    from gordon_migrate.lint import baseline, baseline_rows, render
    from gordon_migrate.lint import lint as run_lint

    context = bundle.load(settings.migrations_dir)
    by_path = {m.path.resolve(): m for m in context}
    bundled_names = {m.path.name for m in context}
    targets = [_as_migration(path, by_path, bundled_names) for path in files] if files else context
    labels = {m.path: str(path) for m, path in zip(targets, files, strict=False)}
    live = None
    if flag_url(settings) is not None or settings.embedded:
        from gordon_migrate.lint.live import read_live_at

        live = read_live_at(resolve_dsn(settings), purpose="lint")
    plans: tuple[Any, ...] = ()
    holds: list[Any] = []
    measured: dict[tuple[int, str], Any] = {}
    if live is not None and not write_baseline:
        from gordon_migrate.apply.holds import predict_unapplied
        from gordon_migrate.apply.resolve import rehearsed_facts

        target = resolve_dsn(settings)
        plans, holds = predict_unapplied(
            target,
            targets,
            context,
            purpose="lint",
            rehearse=on_the_fly(settings, target, scratch_url, static_plan),
        )
        # What the rehearsal measured: lint's rules over facts judge it.
        measured = rehearsed_facts(plans)
    source = baseline_file or baseline.default_path()
    report = run_lint(
        targets,
        context,
        live=live,
        baseline=frozenset() if write_baseline else baseline.load(source),
        fixtures_dir=fixtures_dir,
        labels=labels,
        rehearsed=measured,
    )
    if write_baseline:
        if files:
            raise ConfigError("--write-baseline records the whole bundle: give no FILE")
        source.parent.mkdir(parents=True, exist_ok=True)
        reviewed = [(m.filename, m.checksum.hex()) for m in context]
        source.write_text(
            baseline.render(baseline_rows(report, context), reviewed), encoding="utf-8"
        )
        click.echo(f"wrote {len(report.findings)} finding(s) to {source}")
        return
    if fmt in ("sarif", "github"):
        from gordon_migrate.lint import ci
        from gordon_migrate.lint.rules import registry

        if fmt == "sarif":
            emit_json(ci.report_sarif(report, registry(), show_grandfathered=show_grandfathered))
        else:
            click.echo(ci.report_github(report, show_grandfathered=show_grandfathered))
    elif fmt == "json":
        payload = render.report_json(report)
        if plans:
            # With a server only: a static lint loads nothing of apply's (nor psycopg).
            from gordon_migrate.apply.render import plans_json

            payload |= plans_json(plans)
        if holds:
            payload["lock_holds"] = [h.as_dict() for h in holds]
        emit_json(payload)
    else:
        text = render.report_text(report, show_grandfathered=show_grandfathered)
        if plans or holds:
            from gordon_migrate.apply.render import holds_text, plans_text

            text += plans_text(plans) + holds_text(holds)
        click.echo(text)
    if not report.ok:
        ctx.exit(1)


def _explain(rule_id: str) -> None:
    import difflib

    from gordon_migrate.core.errors import ConfigError
    from gordon_migrate.lint import ci
    from gordon_migrate.lint.rules import registry

    rules = registry()
    if rule_id not in rules:
        near = difflib.get_close_matches(rule_id, list(rules), n=3, cutoff=0.5)
        hint = f"nearest: {', '.join(near)}" if near else "`gordon-migrate lint --rules` lists them"
        raise ConfigError(f"lint --explain: no rule {rule_id!r} ({hint})")
    click.echo(ci.explain(rules[rule_id]))


def _as_migration(path: Path, bundled: dict[Path, Any], names: set[str]) -> Any:
    """A FILE argument: the bundled migration it is (``bundled``: by resolved path; ``names``:
    their file names), or a new file linted after the bundle."""
    from gordon_migrate.core.bundle import Migration, draft_name
    from gordon_migrate.core.errors import BundleError

    # Only a file named as one of the bundle's can be one (resolving every path of a thousand
    # FILE arguments costs ~0.1 s of system calls).
    if path.name in names:
        found = bundled.get(path.resolve())
        if found is not None:
            return found
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{path} is not valid UTF-8: {exc}") from None
    version, description = draft_name(path.name)
    return Migration(version=version, description=description, path=path, data=data)
