"""Command line: parse, call the core, render, and map every failure to exit 1 and one line.

``apply`` is the default command, and the common options work before or after the command
name (``gordon-migrate --database-url U status`` and ``gordon-migrate status --database-url U``).

Each command lives in a module of this package that is imported only when the command is
resolved (click's lazy-group pattern), so ``gordon-migrate apply`` loads ``cli.apply`` and
nothing of drift, recovery, lint or the TUI. ``--help`` lists every command's one-line help
and so loads every command module (not the core behind them: that is imported inside the
commands).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import click

from gordon_migrate import __version__
from gordon_migrate.cli.options import VALUE_OPTIONS, common_options, emit_json
from gordon_migrate.core.errors import GordonError

DEFAULT_COMMAND = "apply"

COMMANDS: Mapping[str, str] = {
    "apply": "gordon_migrate.cli.apply:apply",
    "status": "gordon_migrate.cli.apply:status",
    "embedded": "gordon_migrate.cli.apply:embedded",
    "diagnose": "gordon_migrate.cli.recovery:diagnose",
    "repair": "gordon_migrate.cli.recovery:repair",
    "unlock": "gordon_migrate.cli.recovery:unlock",
    "drift-check": "gordon_migrate.cli.drift:drift_check",
    "fixtures": "gordon_migrate.cli.drift:fixtures_group",
    "grants": "gordon_migrate.cli.drift:grants",
    "lint": "gordon_migrate.cli.lint:lint",
    "rehearse": "gordon_migrate.cli.rehearse:rehearse",
    "tui": "gordon_migrate.cli.tui:tui",
}
"""Every command: its name and where it lives (``module:attribute``), imported on first use."""


class GordonGroup(click.Group):
    """A group whose commands load lazily and whose default command is ``apply``: used when no
    command is named at all.

    ``apply`` takes no argument, so a first word that is not a command is a mistyped command
    (``statsu``), reported as such with the closest command, never as apply's usage.
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        commands = self.list_commands(ctx)
        if args and not args[0].startswith("-"):
            word: str | None = args[0]  # the common case needs none of apply's options
        else:
            word = _first_positional(args, self._value_options(ctx))
        if word is None and not {"--help", "-h", "--version"} & set(args):
            args = [DEFAULT_COMMAND, *args]
        elif word is not None and word not in commands:
            raise click.UsageError(_unknown_command(word, commands), ctx)
        return super().parse_args(ctx, args)

    def _value_options(self, ctx: click.Context) -> set[str]:
        """Options that take a value: ``gordon-migrate --format json`` names no command."""
        default = self.get_command(ctx, DEFAULT_COMMAND)
        assert default is not None
        return VALUE_OPTIONS | {
            name
            for param in default.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }


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


@click.group(
    cls=GordonGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@common_options
@click.version_option(__version__, prog_name="gordon-migrate")
def cli() -> None:
    """Own the Gordon v7 schema: apply migrations (default), check drift, recover."""


def entry() -> None:
    """The console script (and ``python -m gordon_migrate.cli``): ``main``, in a process of
    its own."""
    try:
        main()
    finally:
        # Everything still alive is freed with the process: the collection the interpreter
        # runs on its way out would only walk it (every object a drift-check at 5,000
        # tables left: ~40 ms of a 1 s run). Here, not in main: an in-process caller (the
        # tests, the TUI) goes on and needs its collector.
        gc.freeze()


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
    except BrokenPipeError:
        # The reader of stdout went away (`status | head -1`): nothing is left to say to
        # it, and no error line is due; stdout is pointed at /dev/null so that the
        # interpreter's final flush does not fail again.
        _quiet_broken_pipe()
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


def _quiet_broken_pipe() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)


def _trace_field() -> dict[str, str]:
    """The run's trace id (apply traced through OTEL_*), so the last line leads to the trace."""
    import structlog

    trace_id = structlog.contextvars.get_contextvars().get("trace_id")
    return {"trace_id": trace_id} if isinstance(trace_id, str) else {}


def _fail(ctx: click.Context | None, exc: BaseException, kind: str) -> None:
    from gordon_migrate.core.dsn import scrub

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
    fields = {**fields, **_trace_field()}
    if meta.get("format") == "json":
        emit_json({"ok": False, "error": {"kind": kind, "message": message, **fields}})
    if meta.get("json_logs"):
        # Machines parse stderr line by line: the one failure line is a JSON event too.
        event = {"level": "error", "event": message, "kind": kind, **fields}
        click.echo(json.dumps(event), err=True)
    else:
        click.echo(f"gordon-migrate: error: {message}", err=True)
    sys.exit(1)
