"""Pieces every command shares: common options, settings, target resolution, JSON output.

Kept apart from ``cli`` so that command modules (drift, recovery, TUI) can use them without
importing the group that registers them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from gordon_migrate.bundle import Migration
from gordon_migrate.dsn import Dsn

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_COMMAND = "apply"


@dataclass
class Settings:
    """Common options, merged from before and after the command name."""

    database_url: str | None = None
    embedded: bool = False
    migrations_dir: Path | None = None
    log_level: str | None = None
    log_format: str | None = None


_COMMON: list[Callable[[F], F]] = [
    click.option(
        "--database-url",
        metavar="URL",
        default=None,
        help="Target database (else env DATABASE_URL). Never guessed.",
    ),
    click.option(
        "--embedded",
        is_flag=True,
        default=None,
        help="Use a local embedded Postgres (data in ./.gordon/pg or GORDON_EMBEDDED_DIR).",
    ),
    click.option(
        "--migrations-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Use these migrations instead of the bundled ones (development, tests).",
    ),
    click.option(
        "--log-level",
        default=None,
        help="debug|info|warning|error (else env LOG_LEVEL, else RUST_LOG, else info).",
    ),
    click.option(
        "--log-format",
        type=click.Choice(["auto", "json", "console"]),
        default=None,
        help="auto: console on a terminal, JSON lines otherwise.",
    ),
]
VALUE_OPTIONS = {"--database-url", "--migrations-dir", "--log-level", "--log-format"}


fixtures_dir_option = click.option(
    "--fixtures-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Drift fixtures to compare with instead of the bundled ones (development).",
)


def common_options(func: F) -> F:
    for option in reversed(_COMMON):
        func = option(func)
    return func


def merge(ctx: click.Context, values: dict[str, Any]) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:
        settings = ctx.ensure_object(Settings)
    for name in ("database_url", "embedded", "migrations_dir", "log_level", "log_format"):
        value = values.pop(name, None)
        if value is not None:
            setattr(settings, name, value)
    return settings


def setup(ctx: click.Context, values: dict[str, Any]) -> Settings:
    from gordon_migrate import logs

    settings = merge(ctx, values)
    level = settings.log_level or logs.level_from_env()
    ctx.meta["json_logs"] = logs.configure(level, settings.log_format or "auto")
    ctx.meta["debug"] = level.lower() == "debug"
    return settings


def resolve_dsn(settings: Settings) -> Dsn:
    """The target: ``--embedded`` when asked, else ``--database-url``/``DATABASE_URL``."""
    from gordon_migrate import dsn

    if settings.embedded:
        if settings.database_url is not None:
            from gordon_migrate.errors import ConfigError

            raise ConfigError("--embedded and --database-url exclude each other: choose one")
        from gordon_migrate import embedded

        server = embedded.start()
        return dsn.parse(embedded.ensure_database(server))
    return dsn.resolve(settings.database_url)


def load_bundle(settings: Settings) -> list[Migration]:
    from gordon_migrate import bundle

    return bundle.load(settings.migrations_dir)


def emit_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
