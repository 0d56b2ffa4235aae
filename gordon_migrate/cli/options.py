"""Pieces every command shares: common options, logging set-up, durations, JSON output.

Kept apart from the group (``gordon_migrate.cli``) so that each command module can use them
without importing the others. What the settings mean (the target database, the migrations)
is ``gordon_migrate.core.settings``, which knows nothing of click.

The common options and ``--format`` are eager: click converts them before any other option,
wherever they stand on the command line, so an option value that fails to convert (a bad
duration) is reported with the log format and output format the operator asked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gordon_migrate.core.durations import parse_ms
from gordon_migrate.core.errors import ConfigError
from gordon_migrate.core.settings import Settings, log_level

if TYPE_CHECKING:
    from gordon_migrate.apply.resolve import OnTheFly
    from gordon_migrate.core.dsn import Dsn

F = TypeVar("F", bound=Callable[..., Any])


def _remember(ctx: click.Context, param: click.Parameter, value: object) -> None:
    """Store a setting as soon as it is parsed; after the command name it wins over before."""
    if value is not None and param.name is not None:
        setattr(ctx.ensure_object(Settings), param.name, value)


def setting_option(*param_decls: str, **attrs: Any) -> Callable[[F], F]:
    """An option that fills a ``Settings`` field (of its own name) instead of a parameter."""
    return click.option(
        *param_decls, expose_value=False, is_eager=True, callback=_remember, **attrs
    )


class Duration(click.ParamType[int]):
    """A Postgres-style duration (``200ms``, ``5s``, ``15min``; bare numbers are ms) as ms.

    A bad value is a ``ConfigError`` like any other bad setting (one line, exit 1), not a
    usage error; logging is set up first, so that line is a JSON event when logs are JSON.
    """

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):  # a default, already in milliseconds
            return value
        option = param.opts[0] if param is not None and param.opts else self.name
        try:
            return parse_ms(str(value), option)
        except ConfigError:
            if ctx is not None:
                setup(ctx)
            raise


_COMMON: list[Callable[[F], F]] = [
    setting_option(
        "--database-url",
        metavar="URL",
        default=None,
        help="Target database (else env DATABASE_URL). Never guessed.",
    ),
    setting_option(
        "--embedded",
        is_flag=True,
        default=None,
        help="Use a local embedded Postgres (data in ./.gordon/pg or GORDON_EMBEDDED_DIR).",
    ),
    setting_option(
        "--migrations-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Use these migrations instead of the bundled ones (development, tests).",
    ),
    setting_option(
        "--log-level",
        default=None,
        help="debug|info|warning|error (else env LOG_LEVEL, else RUST_LOG, else info).",
    ),
    setting_option(
        "--log-format",
        type=click.Choice(["auto", "json", "console"]),
        default=None,
        help="auto: console on a terminal, JSON lines otherwise.",
    ),
    setting_option(
        "--network-timeout",
        "network_timeout_ms",
        type=Duration(),
        default=None,
        metavar="D",
        help="Give up on a server that has not finished a command's reads within D (else env "
        "GORDON_NETWORK_TIMEOUT, else 30s; 0 disables). Apply's own connection is bounded by "
        "statement_timeout instead.",
    ),
]
VALUE_OPTIONS = {
    "--database-url",
    "--migrations-dir",
    "--log-level",
    "--log-format",
    "--network-timeout",
}


def common_options(func: F) -> F:
    for option in reversed(_COMMON):
        func = option(func)
    return func


def _remember_format(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta["format"] = value
    return value


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    is_eager=True,
    callback=_remember_format,
)

fixtures_dir_option = click.option(
    "--fixtures-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Drift fixtures to compare with instead of the bundled ones (development).",
)


def setup(ctx: click.Context) -> Settings:
    """The run's settings, with logging configured from them (once per run)."""
    from gordon_migrate.core import logs

    settings = ctx.ensure_object(Settings)
    if "json_logs" not in ctx.meta:
        level = log_level(settings)
        ctx.meta["json_logs"] = logs.configure(level, settings.log_format or "auto")
        ctx.meta["debug"] = level.lower() == "debug"
    return settings


def emit_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


def plan_options(f: F) -> F:
    """``--scratch-url`` and ``--static-plan``: how a pending migration the pinned lock plan
    lacks gets its plan (apply, apply --dry-run, lint --database-url)."""
    f = click.option(
        "--static-plan",
        is_flag=True,
        help="Do not rehearse a pending migration the pinned lock plan lacks: judge it by "
        "lint's static plan, marked GUESSED everywhere (for when no scratch server can be had).",
    )(f)
    return click.option(
        "--scratch-url",
        metavar="URL",
        default=None,
        help="Rehearse a pending migration the pinned lock plan lacks in a throwaway database "
        "on this server (superuser or CREATEDB role; never the target's database; default: "
        "GORDON_SCRATCH_URL, else a throwaway embedded server).",
    )(f)


def on_the_fly(
    settings: Settings, target: Dsn, scratch_url: str | None, static_plan: bool
) -> OnTheFly | None:
    """The rehearsal to ask for (None with ``--static-plan``: the plan is guessed)."""
    if static_plan:
        if scratch_url is not None:
            raise ConfigError(
                "--static-plan and --scratch-url exclude each other: the first skips the "
                "rehearsal the second is for; choose one"
            )
        return None
    from gordon_migrate.apply.resolve import OnTheFly
    from gordon_migrate.core import dsn
    from gordon_migrate.core.settings import scratch_url as scratch_setting

    url = scratch_setting(settings, scratch_url)
    return OnTheFly(target=target, scratch_server=None if url is None else dsn.parse(url))
