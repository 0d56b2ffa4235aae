"""``tui``, the operator TUI: loaded by the group only when it runs.

Textual is imported inside the command only: ``gordon-migrate apply`` never pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gordon_migrate.cli.options import (
    common_options,
    fixtures_dir_option,
    on_the_fly,
    plan_options,
    setup,
)
from gordon_migrate.core.settings import load_bundle, resolve_dsn


@click.command()
@common_options
@fixtures_dir_option
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Show an `apply --report` file instead (no database needed).",
)
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
@plan_options
@click.pass_context
def tui(
    ctx: click.Context,
    /,
    fixtures_dir: Path | None,
    report_file: Path | None,
    refresh_s: float,
    scratch_url: str | None,
    static_plan: bool,
) -> None:
    """Operator TUI: migrations, drift, grants and the recovery runbook, live.

    Read-only until you confirm an action. Keys: 1-5 screens, r refresh, p pause the live
    refresh, a apply, ctrl+p every command, q quit (while an apply or repair runs, q or
    ctrl+c asks to cancel it instead). With --report FILE: the migrations and statements of
    that run.
    """
    settings = setup(ctx)
    if report_file is not None:
        from gordon_migrate.tui.report import ReportApp

        viewer = ReportApp(read_report(report_file), str(report_file))
        viewer.run()
        ctx.exit(viewer.return_code or 0)
    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    from gordon_migrate.tui.app import GordonApp

    rehearse = on_the_fly(settings, target, scratch_url, static_plan)
    app = GordonApp(
        target, bundle, fixtures_dir=fixtures_dir, refresh_s=refresh_s, rehearse=rehearse
    )
    app.run()
    ctx.exit(app.return_code or 0)


def read_report(path: Path) -> dict[str, Any]:
    """The report in ``path``, or one line saying why it cannot be shown."""
    from gordon_migrate.core.errors import ConfigError
    from gordon_migrate.observe import report

    try:
        found = report.read(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"tui --report {path}: cannot read it ({getattr(exc, 'strerror', None) or exc}); "
            "nothing was shown"
        ) from None
    if found is None:
        raise ConfigError(
            f"tui --report {path}: not an `apply --report` file (a JSON object with "
            '"report": "gordon-migrate apply report"); nothing was shown'
        )
    return found
