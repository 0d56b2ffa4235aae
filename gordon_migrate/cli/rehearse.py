"""``gordon-migrate rehearse``: loaded by the group only when it runs.

Thin: resolve the target (optional) and the scratch, call ``gordon_migrate.rehearse``,
render, exit 0/1.
"""

from __future__ import annotations

import click

from gordon_migrate.cli.options import Duration, common_options, emit_json, format_option, setup
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.settings import database_url, embedded_version, load_bundle, resolve_dsn


@click.command("rehearse")
@common_options
@format_option
@click.option(
    "--scratch-url",
    metavar="URL",
    default=None,
    help="A scratch server (superuser or CREATEDB role): a throwaway database is created there, "
    "rehearsed on and dropped; never the target's database. Default: a throwaway embedded "
    "server.",
)
@click.option(
    "--pg-version",
    type=click.Choice(["18", "16"]),
    default=None,
    help="Embedded PostgreSQL major version of the default scratch server (default 18).",
)
@click.option(
    "--statement-budget",
    "budget_ms",
    type=Duration(),
    default="60s",
    metavar="D",
    help="Cancel and report a statement that runs longer than D on the scratch (default 60s).",
)
@click.option(
    "--measure-throughput",
    is_flag=True,
    help="Instead: measure a rewrite's and a full scan's bytes/s on the scratch and pin them "
    "in fixtures/throughput.json (the lock-hold budget's model).",
)
@click.pass_context
def rehearse(
    ctx: click.Context,
    /,
    fmt: str,
    scratch_url: str | None,
    pg_version: str | None,
    budget_ms: int,
    measure_throughput: bool,
) -> None:
    """Run the pending migrations on a scratch copy of the schema and show what each statement
    locks, rewrites, scans, creates and drops, measured by the server (the target, when given,
    is only read)."""
    settings = setup(ctx)
    from gordon_migrate.core import dsn
    from gordon_migrate.rehearse import render
    from gordon_migrate.rehearse.run import rehearse as run_rehearsal

    scratch = dsn.parse(scratch_url) if scratch_url is not None else None
    version = int(pg_version) if pg_version else embedded_version(settings)
    if measure_throughput:
        _measure_throughput(scratch, version)
        return
    migrations = load_bundle(settings)
    has_target = settings.embedded or database_url(settings) is not None
    target = resolve_dsn(settings) if has_target else None
    result = run_rehearsal(
        migrations,
        target=target,
        scratch_server=scratch,
        pg_version=version,
        budget_ms=budget_ms,
    )
    if fmt == "json":
        emit_json(render.to_json(result))
    else:
        click.echo(render.text(result), nl=False)


def _measure_throughput(scratch: Dsn | None, version: int) -> None:
    from gordon_migrate.core.durations import format_ms
    from gordon_migrate.rehearse import cost
    from gordon_migrate.rehearse.run import measure_throughput

    found = measure_throughput(scratch_server=scratch, pg_version=version)
    where = cost.default_path()
    where.write_text(cost.render(found), encoding="utf-8")
    click.echo(
        f"{where}: rewrite {cost.format_bytes(round(found.rewrite_bps))}/s, full scan "
        f"{cost.format_bytes(round(found.scan_bps))}/s on PostgreSQL {found.server_major} "
        f"(a budget of {format_ms(cost.DEFAULT_BUDGET_MS)} holds a rewrite of about "
        f"{cost.format_bytes(round(found.rewrite_bps * cost.DEFAULT_BUDGET_MS / 1000))})"
    )
