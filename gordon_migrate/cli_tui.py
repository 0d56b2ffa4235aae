"""Click command for the operator TUI (issue 6); registered by ``cli``.

Textual is imported inside the command only: ``gordon-migrate apply`` never pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gordon_migrate.clikit import (
    common_options,
    fixtures_dir_option,
    load_bundle,
    resolve_dsn,
    setup,
)


@click.command()
@common_options
@fixtures_dir_option
@click.pass_context
def tui(ctx: click.Context, /, fixtures_dir: Path | None, **values: Any) -> None:
    """Operator TUI: migrations, drift, grants and the recovery runbook, live.

    Read-only until you confirm an action. Keys: 1-5 screens, r refresh, a apply,
    ctrl+p every command, q quit (while an apply or repair runs, q or ctrl+c asks to
    cancel it instead).
    """
    settings = setup(ctx, values)
    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    from gordon_migrate.tui.app import GordonApp

    app = GordonApp(target, bundle, fixtures_dir=fixtures_dir)
    app.run()
    ctx.exit(app.return_code or 0)


COMMANDS: list[click.Command] = [tui]
