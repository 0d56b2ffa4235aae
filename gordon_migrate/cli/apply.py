"""``apply`` (the default command), ``status`` and ``embedded``: the one-shot deploy path.

Only this command module is imported when ``gordon-migrate apply`` runs (the group resolves
commands lazily): it pays for no drift, recovery, lint or TUI code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gordon_migrate.apply.options import (
    DEFAULT_LOCK_HOLD_BUDGET_MS,
    DEFAULT_LOCK_RETRY_WINDOW_MS,
    DEFAULT_LOCK_TIMEOUT_MS,
    DEFAULT_LOCK_WAIT_S,
    DEFAULT_STANDBY_WAIT_S,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    ApplyOptions,
)
from gordon_migrate.cli.options import (
    Duration,
    common_options,
    emit_json,
    format_option,
    on_the_fly,
    plan_options,
    setup,
)
from gordon_migrate.core.settings import (
    Settings,
    embedded_dir,
    embedded_version,
    load_bundle,
    otel_environment,
    resolve_dsn,
)

if TYPE_CHECKING:
    from gordon_migrate.apply.engine import ApplyResult
    from gordon_migrate.apply.options import ApplyOptions
    from gordon_migrate.core.dsn import Dsn


@click.command()
@common_options
@click.option("--dry-run", is_flag=True, help="Validate and print the plan; change nothing.")
@format_option
@click.option(
    "--lock-wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_WAIT_S,
    metavar="SECONDS",
    help="Bound on waiting for another runner's migration lock (default 300).",
)
@click.option(
    "--lock-timeout",
    type=Duration(),
    default=DEFAULT_LOCK_TIMEOUT_MS,
    metavar="DURATION",
    help="lock_timeout per attempt inside migrations (default 100ms): the longest another "
    "session's query can queue behind a migration's lock request.",
)
@click.option(
    "--lock-retry-window",
    type=Duration(),
    default=DEFAULT_LOCK_RETRY_WINDOW_MS,
    metavar="DURATION",
    help="How long lock-timed-out attempts are retried, with growing pauses (default 10min; "
    "0: no retry).",
)
@click.option(
    "--statement-timeout",
    type=Duration(),
    default=DEFAULT_STATEMENT_TIMEOUT_MS,
    metavar="DURATION",
    help="statement_timeout inside migrations (default 15min).",
)
@click.option(
    "--standby-wait",
    type=Duration(),
    default=int(DEFAULT_STANDBY_WAIT_S * 1000),
    metavar="DURATION",
    help="How long the run's final commit may wait for synchronous standbys before apply "
    "stops waiting and fails (default 30s).",
)
@click.option(
    "--lock-hold-budget",
    type=Duration(),
    default=DEFAULT_LOCK_HOLD_BUDGET_MS,
    metavar="DURATION",
    help="Refuse, before any lock, a statement predicted to hold a lock that blocks the "
    "services (SHARE or stronger) across a rewrite or a full scan for longer (default 1s; "
    "a migration's `-- gordon:lock-hold-budget` overrides it).",
)
@click.option(
    "--metrics-file",
    type=click.Path(path_type=Path),
    default=None,
    metavar="PATH",
    help="Write Prometheus textfile metrics of the run to PATH (atomically; on failure too).",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the evidence of the run (JSON: migrations, statements, locks, waits, outcome).",
)
@plan_options
@click.pass_context
def apply(
    ctx: click.Context,
    /,
    dry_run: bool,
    fmt: str,
    lock_wait: float,
    lock_timeout: int,
    lock_retry_window: int,
    statement_timeout: int,
    standby_wait: int,
    lock_hold_budget: int,
    metrics_file: Path | None,
    report_file: Path | None,
    scratch_url: str | None,
    static_plan: bool,
) -> None:
    """Apply every pending migration (the default command)."""
    settings = setup(ctx)
    from gordon_migrate.apply import engine, render
    from gordon_migrate.observe import otel_env

    if dry_run and (metrics_file is not None or report_file is not None):
        from gordon_migrate.core.errors import ConfigError

        raise ConfigError(
            "--metrics-file and --report record a real run, not --dry-run: drop them (or "
            "--dry-run); nothing was run"
        )

    if dry_run:
        _dry_run(ctx, settings, fmt, lock_hold_budget, scratch_url, static_plan)
        return
    options = ApplyOptions(
        lock_wait_s=lock_wait,
        lock_timeout_ms=lock_timeout,
        statement_timeout_ms=statement_timeout,
        lock_retry_window_ms=lock_retry_window,
        standby_wait_s=standby_wait / 1000.0,
        lock_hold_budget_ms=lock_hold_budget,
    )
    if (
        metrics_file is not None
        or report_file is not None
        or otel_env.requested(otel_environment(settings))
    ):
        target, result = _watched(
            settings, options, metrics_file, report_file, scratch_url, static_plan
        )
    else:
        bundle = load_bundle(settings)
        target = resolve_dsn(settings)
        rehearse = on_the_fly(settings, target, scratch_url, static_plan)
        from gordon_migrate.apply.interrupts import raising

        with raising():
            result = engine.apply(target, bundle, options, rehearse=rehearse)
    if fmt == "json":
        emit_json(render.apply_json(result, target))
    else:
        click.echo(render.apply_text(result, target))


def _dry_run(
    ctx: click.Context,
    settings: Settings,
    fmt: str,
    lock_hold_budget: int,
    scratch_url: str | None,
    static_plan: bool,
) -> None:
    """What apply would run, its lock plan (each migration's with its provenance: pending ones
    the pinned plan lacks are rehearsed, as apply would) and who conflicts now; refused as
    apply would be. Exit 1 when apply would refuse, so a pipeline can gate on the dry run."""
    from gordon_migrate.apply import render
    from gordon_migrate.apply.interrupts import raising
    from gordon_migrate.apply.plan import plan

    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    with raising():
        found = plan(
            target,
            bundle,
            purpose="apply --dry-run",
            doing="reading the history",
            lock_hold_budget_ms=lock_hold_budget,
            rehearse=on_the_fly(settings, target, scratch_url, static_plan),
        )
    refused = found.refuses
    if fmt == "json":
        payload = render.apply_json(found.as_result(), target) | render.dry_run_json(found)
        emit_json(payload | {"ok": not refused})
    else:
        click.echo(render.apply_text(found.as_result(), target) + render.dry_run_text(found))
    if refused:
        ctx.exit(1)


def _watched(
    settings: Settings,
    options: ApplyOptions,
    metrics_file: Path | None,
    report_file: Path | None,
    scratch_url: str | None,
    static_plan: bool,
) -> tuple[Dsn, ApplyResult]:
    """The apply, watched: the paths are checked first (nothing has run), and the metrics,
    the report and the trace are finished whatever the outcome."""
    from gordon_migrate.apply import engine
    from gordon_migrate.apply.interrupts import raising
    from gordon_migrate.observe.watch import Watch

    watch = Watch(
        metrics_file=metrics_file, report_file=report_file, env=otel_environment(settings)
    )
    error: BaseException | None = None
    try:
        bundle = load_bundle(settings)
        watch.bundle_loaded(bundle)
        target = resolve_dsn(settings)
        watch.target_resolved(target)
        rehearse = on_the_fly(settings, target, scratch_url, static_plan)
        with raising():
            return target, engine.apply(
                target, bundle, options, observer=watch.observer, rehearse=rehearse
            )
    except BaseException as exc:
        error = exc
        raise
    finally:
        watch.finish(error)


@click.command()
@common_options
@format_option
@click.pass_context
def status(ctx: click.Context, /, fmt: str) -> None:
    """Every migration and its state, the lock holder and the last apply; exit 1 when the
    history is inconsistent."""
    settings = setup(ctx)
    from gordon_migrate.apply import overview, render

    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    current = overview.overview(target, bundle, purpose="status")
    if fmt == "json":
        emit_json(render.status_json(current))
    else:
        click.echo(render.status_text(current))
    if not current.status.consistent:
        ctx.exit(1)


@click.group()
def embedded() -> None:
    """The local embedded Postgres that --embedded starts (and leaves running for reuse)."""


@embedded.command("stop")
def embedded_stop() -> None:
    """Stop the embedded server (data in ./.gordon/pg or GORDON_EMBEDDED_DIR)."""
    from gordon_migrate.core import embedded as server

    where = embedded_dir(Settings()).expanduser().resolve()
    if server.stop(where):
        click.echo(f"stopped the embedded server of {where}")
    else:
        click.echo(
            f"not running: no embedded server in {where} (./.gordon/pg of this directory, or "
            "GORDON_EMBEDDED_DIR: run from the directory that started it, or set it)"
        )


@embedded.command("url")
def embedded_url() -> None:
    """Start (or reuse) the embedded server and print the URL of its gordon database."""
    from gordon_migrate.core import embedded as server

    settings = Settings()
    started = server.start(embedded_dir(settings), embedded_version(settings))
    click.echo(server.as_url(server.ensure_database(started)))
