"""Command line: parse, call the core, render, and map every failure to exit 1 and one line.

``apply`` is the default command, and the common options work before or after the command
name (``gordon-migrate --database-url U status`` and ``gordon-migrate status --database-url U``).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from gordon_migrate import __version__
from gordon_migrate.clikit import (
    DEFAULT_COMMAND,
    VALUE_OPTIONS,
    common_options,
    emit_json,
    load_bundle,
    merge,
    resolve_dsn,
    setup,
)
from gordon_migrate.errors import GordonError


class GordonGroup(click.Group):
    """A group whose default command is ``apply``: used when no command is named at all.

    ``apply`` takes no argument, so a first word that is not a command is a mistyped command
    (``statsu``), reported as such with the closest command, never as apply's usage.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # ``gordon-migrate --format json`` is apply's option: its value is no command name.
        default = self.commands[DEFAULT_COMMAND]
        takes_value = VALUE_OPTIONS | {
            name
            for param in default.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        word = _first_positional(args, takes_value)
        if word is None and not {"--help", "-h", "--version"} & set(args):
            args = [DEFAULT_COMMAND, *args]
        elif word is not None and word not in self.commands:
            raise click.UsageError(_unknown_command(word, sorted(self.commands)), ctx)
        return super().parse_args(ctx, args)


def _first_positional(args: Sequence[str], takes_value: set[str]) -> str | None:
    """The first positional argument, skipping option values; None when there is none."""
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--":
            return None
        if arg.startswith("-"):
            skip = arg in takes_value
            continue
        return arg
    return None


def _unknown_command(word: str, commands: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"no such command {word!r}.{hint} Commands: {', '.join(commands)} "
        f"({DEFAULT_COMMAND} when none is named)"
    )


@click.group(cls=GordonGroup, context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.version_option(__version__, prog_name="gordon-migrate")
@click.pass_context
def cli(ctx: click.Context, /, **values: Any) -> None:
    """Own the Gordon v7 schema: apply migrations (default), check drift, recover."""
    merge(ctx, values)


@cli.command()
@common_options
@click.option("--dry-run", is_flag=True, help="Validate and print the plan; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--lock-wait",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Bound on waiting for another runner's migration lock (default 300).",
)
@click.option(
    "--lock-timeout",
    default=None,
    metavar="DURATION",
    help="lock_timeout per attempt inside migrations (default 100ms): the longest another "
    "session's query can queue behind a migration's lock request.",
)
@click.option(
    "--lock-retry-window",
    default=None,
    metavar="DURATION",
    help="How long lock-timed-out attempts are retried, with growing pauses (default 10min; "
    "0: no retry).",
)
@click.option(
    "--statement-timeout",
    default=None,
    metavar="DURATION",
    help="statement_timeout inside migrations (default 15min).",
)
@click.pass_context
def apply(
    ctx: click.Context,
    /,
    dry_run: bool,
    fmt: str,
    lock_wait: float | None,
    lock_timeout: str | None,
    lock_retry_window: str | None,
    statement_timeout: str | None,
    **values: Any,
) -> None:
    """Apply every pending migration (the default command)."""
    ctx.meta["format"] = fmt
    settings = setup(ctx, values)
    from gordon_migrate import engine, render
    from gordon_migrate.durations import parse_ms

    options = engine.ApplyOptions(
        lock_wait_s=engine.DEFAULT_LOCK_WAIT_S if lock_wait is None else lock_wait,
        lock_timeout_ms=(
            engine.DEFAULT_LOCK_TIMEOUT_MS
            if lock_timeout is None
            else parse_ms(lock_timeout, "--lock-timeout")
        ),
        statement_timeout_ms=(
            engine.DEFAULT_STATEMENT_TIMEOUT_MS
            if statement_timeout is None
            else parse_ms(statement_timeout, "--statement-timeout")
        ),
        lock_retry_window_ms=(
            engine.DEFAULT_LOCK_RETRY_WINDOW_MS
            if lock_retry_window is None
            else parse_ms(lock_retry_window, "--lock-retry-window")
        ),
        dry_run=dry_run,
    )
    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    from gordon_migrate.interrupts import raising

    with raising():
        result = engine.apply(target, bundle, options)
    if not dry_run:
        if fmt == "json":
            emit_json(render.apply_json(result, target))
        else:
            click.echo(render.apply_text(result, target))
        return
    from gordon_migrate.lint import render as lint_render  # the plan: only for a dry run

    plan = lint_render.dry_run_plan(target, bundle, result)
    if fmt == "json":
        emit_json(render.apply_json(result, target) | lint_render.dry_run_json(plan))
    else:
        click.echo(render.apply_text(result, target) + lint_render.dry_run_text(plan))


@cli.command()
@common_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def status(ctx: click.Context, /, fmt: str, **values: Any) -> None:
    """Every migration and its state, the lock holder and the last apply; exit 1 when the
    history is inconsistent."""
    ctx.meta["format"] = fmt
    settings = setup(ctx, values)
    from gordon_migrate import overview, render

    bundle = load_bundle(settings)
    target = resolve_dsn(settings)
    current = overview.overview(target, bundle, purpose="status")
    if fmt == "json":
        emit_json(render.status_json(current))
    else:
        click.echo(render.status_text(current))
    if not current.status.consistent:
        ctx.exit(1)


@cli.group()
def embedded() -> None:
    """The local embedded Postgres that --embedded starts (and leaves running for reuse)."""


@embedded.command("stop")
def embedded_stop() -> None:
    """Stop the embedded server (data in ./.gordon/pg or GORDON_EMBEDDED_DIR)."""
    from gordon_migrate import embedded as server

    where = server.data_dir_from_env().expanduser().resolve()
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
    from gordon_migrate import embedded as server

    click.echo(server.as_url(server.ensure_database(server.start())))


def _register_command_modules() -> None:
    """Commands that live in their own modules (each exposes ``COMMANDS``)."""
    from gordon_migrate import cli_drift, cli_lint, cli_recovery, cli_tui

    for module in (cli_drift, cli_lint, cli_recovery, cli_tui):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_command_modules()


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: exit 0 on success, 1 on any failure, with one clear line."""
    args = list(sys.argv[1:] if argv is None else argv)
    ctx: click.Context | None = None
    try:
        with cli.make_context("gordon-migrate", args) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as exc:
        # Usage errors exit 1 too: the deploy gate knows only success and failure.
        exc.show()
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("gordon-migrate: aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt as stop:
        # Outside apply's own handling (which reports what became of the migration): still
        # one line and exit 1, never a traceback.
        name = stop or "SIGINT"
        click.echo(f"gordon-migrate: interrupted ({name}); nothing more was done", err=True)
        sys.exit(1)
    except GordonError as exc:
        _fail(ctx, exc, exc.kind)
    except Exception as exc:  # a bug: still one line and exit 1; the trace with debug
        _fail(ctx, exc, "internal")
    sys.exit(0)


def _fail(ctx: click.Context | None, exc: BaseException, kind: str) -> None:
    from gordon_migrate.dsn import scrub

    meta: dict[str, Any] = ctx.meta if ctx is not None else {}
    if meta.get("debug"):
        traceback.print_exception(exc, file=sys.stderr)
    message = scrub(str(exc))
    if kind == "internal":
        message = (
            f"internal error ({type(exc).__name__}): {message}; "
            "re-run with --log-level debug for the traceback and report it"
        )
    # What the error is about, as data: diagnose reads the failure mode from the JSON line.
    fields = exc.fields() if isinstance(exc, GordonError) else {"failure_mode": "FM-28"}
    if meta.get("format") == "json":
        emit_json({"ok": False, "error": {"kind": kind, "message": message, **fields}})
    if meta.get("json_logs"):
        # Machines parse stderr line by line: the one failure line is a JSON event too.
        event = {"level": "error", "event": message, "kind": kind, **fields}
        click.echo(json.dumps(event), err=True)
    else:
        click.echo(f"gordon-migrate: error: {message}", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
