"""``diagnose``, ``repair`` and ``unlock``: loaded by the group only when one of them runs.

Thin: options, the core in ``gordon_migrate.recovery`` (imported inside each command, so
``apply`` never pays for it), rendering, exit codes. Changing anything (repair, unlock) needs
``--yes`` or, on a terminal outside CI, the operator typing the version or pid back.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from gordon_migrate.apply.options import DEFAULT_BLOCKER_AGE_MS
from gordon_migrate.cli.options import (
    Duration,
    common_options,
    emit_json,
    fixtures_dir_option,
    format_option,
    setup,
)
from gordon_migrate.core.settings import (
    Settings,
    in_ci,
    load_bundle,
    resolve_dsn,
    resolve_target,
)
from gordon_migrate.recovery.repair import DEFAULT_LOCK_WAIT_S

_YES = click.option(
    "--yes",
    is_flag=True,
    help="Confirm without the typed prompt (required when stdin is not a terminal or CI is set).",
)
_REASON = click.option(
    "--reason", default=None, metavar="TEXT", help="Why, for the audit row (e.g. an incident id)."
)


def _confirm(settings: Settings, yes: bool, expected: str, noun: str, action: str) -> None:
    """Proceed with ``--yes``, or when the operator types ``expected`` at a terminal."""
    from gordon_migrate.recovery import refused

    if yes:
        return
    ci = in_ci(settings)
    if ci or not sys.stdin.isatty():
        where = "CI is set" if ci else "stdin is not a terminal"
        raise refused(
            f"refusing to {action} without confirmation ({where}): re-run with --yes once you "
            "have read what it will do"
        )
    typed = click.prompt(
        f"Type the {noun} ({expected}) to confirm, anything else aborts",
        default="",
        show_default=False,
        err=True,
    )
    if typed.strip() != expected:
        raise refused(f"not confirmed ({typed.strip()!r} is not {expected})")


def _deprecated_lock_timeout(value: int | None) -> int | None:
    """The option's old name (it never was a lock_timeout), kept working for scripts."""
    if value is not None:
        click.echo(
            "warning: diagnose --lock-timeout is deprecated: it is the blocker age, "
            "use --blocker-age",
            err=True,
        )
    return value


def _first(*values: int | None) -> int:
    return next(v for v in values if v is not None)


@click.command()
@common_options
@format_option
@click.option(
    "--blocker-age",
    type=Duration(),
    default=None,
    metavar="DURATION",
    help="A transaction that has held a lock on a Gordon table longer than this is reported "
    "as blocking (default 5s). Not apply's --lock-timeout, which bounds each lock wait.",
)
@click.option(
    "--lock-timeout",
    "old_blocker_age",
    type=Duration(),
    default=None,
    hidden=True,
    callback=lambda _ctx, _param, value: _deprecated_lock_timeout(value),
)
@click.option(
    "--apply-log",
    type=click.File("r"),
    default=None,
    metavar="FILE",
    help="The failed apply's log (- for stdin): its error line is matched against the runbook.",
)
@fixtures_dir_option
@click.pass_context
def diagnose(
    ctx: click.Context,
    /,
    fmt: str,
    blocker_age: int | None,
    old_blocker_age: int | None,
    apply_log: IO[str] | None,
    fixtures_dir: Path | None,
) -> None:
    """Read-only probes in runbook order (docs/spof-runbook.md); exit 1 unless healthy."""
    settings = setup(ctx)
    from gordon_migrate.recovery import diagnose as core
    from gordon_migrate.recovery.probes import Target

    log = apply_log.read() if apply_log is not None else None
    target = Target(
        resolve_target(settings, fixtures_dir),
        blocker_age_ms=_first(blocker_age, old_blocker_age, DEFAULT_BLOCKER_AGE_MS),
        apply_log=log,
    )
    diagnosis = core.diagnose(target)
    if fmt == "json":
        emit_json(core.render_json(diagnosis))
    else:
        click.echo(core.render_text(diagnosis))
    if not diagnosis.healthy:
        ctx.exit(1)


@click.command()
@common_options
@click.argument("version", type=click.IntRange(min=0))
@click.option(
    "--done/--undone",
    default=True,
    help="--done (default): you finished its statements by hand, mark the row success = true. "
    "--undone: you reversed what took effect, remove the row so apply runs it again.",
)
@_YES
@_REASON
@format_option
@click.option(
    "--lock-wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_WAIT_S,
    show_default=True,
    metavar="SECONDS",
    help="Bound on waiting for the migration lock.",
)
@click.pass_context
def repair(
    ctx: click.Context,
    /,
    version: int,
    done: bool,
    yes: bool,
    reason: str | None,
    fmt: str,
    lock_wait: float,
) -> None:
    """Mark the dirty history row of VERSION done (or --undone), after fixing it by hand.

    Only a dirty row (success = false: a no-transaction migration that stopped part-way, or
    a row another writer left; runbook FM-13), under
    the migration lock, with an audit row; no schema object is touched.
    """
    settings = setup(ctx)
    from gordon_migrate.recovery import repair as core

    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    plan = core.plan_repair(target, bundle, version, "done" if done else "undone")
    # With JSON on stdout the plan still reaches the operator who is asked to confirm it.
    click.echo(core.describe_plan(plan, target), err=fmt == "json")
    _confirm(settings, yes, str(version), "version", "change the history")
    outcome = core.run_repair(target, plan, reason=reason, lock_wait_s=lock_wait)
    if fmt == "json":
        emit_json(core.render_json(target, plan, outcome))
    else:
        click.echo(core.describe_outcome(outcome))


@click.command()
@common_options
@click.option(
    "--pid",
    type=click.IntRange(min=1),
    default=None,
    help="End this session instead: one that holds a lock on a Gordon table (diagnose step 8).",
)
@_YES
@_REASON
@format_option
@click.pass_context
def unlock(
    ctx: click.Context,
    /,
    pid: int | None,
    yes: bool,
    reason: str | None,
    fmt: str,
) -> None:
    """End the session holding the migration lock (a stuck runner, runbook FM-16).

    Shows the session (pid, application, client, since, activity) and the exact
    pg_terminate_backend statement, and runs it only once confirmed.
    """
    settings = setup(ctx)
    from gordon_migrate.recovery import unlock as core

    target = resolve_dsn(settings)
    plan = core.plan_unlock(target, pid)
    if plan is None:
        if fmt == "json":
            emit_json(core.render_json(target, None, None))
        else:
            click.echo(f"nobody holds the migration lock ({target.redacted}): nothing to end")
        return
    click.echo(core.describe_plan(plan, target), err=fmt == "json")
    _confirm(settings, yes, str(plan.session.pid), "pid", f"end pid {plan.session.pid}")
    outcome = core.end_session(target, plan, reason=reason)
    if fmt == "json":
        emit_json(core.render_json(target, plan, outcome))
    else:
        click.echo(core.describe_outcome(outcome))
