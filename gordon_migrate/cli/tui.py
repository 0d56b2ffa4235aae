"""``tui``, the operator TUI: loaded by the group only when it runs.

Textual is imported inside the command only: ``gordon-migrate apply`` never pays for it.
"""

from __future__ import annotations

from pathlib import Path

import click

from gordon_migrate.cli.options import common_options, fixtures_dir_option, setup
from gordon_migrate.settings import load_bundle, resolve_dsn


@click.command()
@common_options
@fixtures_dir_option
@click.option(
    "--refresh",
    "refresh_s",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="re-read the Overview, the migration lock and the blocking sessions every SECONDS "
    "(0: only on r)",
)
@click.pass_context
def tui(ctx: click.Context, /, fixtures_dir: Path | None, refresh_s: float) -> None:
    """Operator TUI: migrations, drift, grants and the recovery runbook, live.

    Read-only until you confirm an action. Keys: 1-5 screens, r refresh, p pause the live
    refresh, a apply, ctrl+p every command, q quit (while an apply or repair runs, q or
    ctrl+c asks to cancel it instead).
    """
    settings = setup(ctx)
    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    from gordon_migrate.tui.app import GordonApp

    app = GordonApp(target, bundle, fixtures_dir=fixtures_dir, refresh_s=refresh_s)
    app.run()
    ctx.exit(app.return_code or 0)
