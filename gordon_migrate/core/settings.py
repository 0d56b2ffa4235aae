"""What a run is pointed at: the target database and the migrations, resolved without click.

The CLI fills a ``Settings`` from its options (``gordon_migrate.cli.options``); anything else
that embeds the tool builds one directly. Like Alembic's ``Config``: plain data, and functions
that turn it into a ``Dsn`` and a bundle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.dsn import Dsn


@dataclass
class Settings:
    """The common options, merged from before and after the command name."""

    database_url: str | None = None
    embedded: bool = False
    migrations_dir: Path | None = None
    log_level: str | None = None
    log_format: str | None = None
    network_timeout_ms: int | None = None
    """``--network-timeout``; else ``GORDON_NETWORK_TIMEOUT``; else the Dsn's default."""


NETWORK_TIMEOUT_ENV = "GORDON_NETWORK_TIMEOUT"


def network_timeout_s(settings: Settings) -> float | None:
    """The network timeout asked for, in seconds (None: the default)."""
    if settings.network_timeout_ms is not None:
        return settings.network_timeout_ms / 1000.0
    raw = os.environ.get(NETWORK_TIMEOUT_ENV)
    if raw is None or not raw.strip():
        return None
    from gordon_migrate.core.durations import parse_ms

    return parse_ms(raw, NETWORK_TIMEOUT_ENV) / 1000.0


def resolve_dsn(settings: Settings) -> Dsn:
    """The target: ``--embedded`` when asked, else ``--database-url``/``DATABASE_URL``,
    with the network timeout asked for."""
    from gordon_migrate.core import dsn

    if settings.embedded:
        if settings.database_url is not None:
            from gordon_migrate.core.errors import ConfigError

            raise ConfigError("--embedded and --database-url exclude each other: choose one")
        from gordon_migrate.core import embedded

        server = embedded.start()
        target = dsn.parse(embedded.ensure_database(server))
    else:
        target = dsn.resolve(settings.database_url)
    timeout = network_timeout_s(settings)
    return target if timeout is None else replace(target, network_timeout_s=timeout)


def load_bundle(settings: Settings) -> list[Migration]:
    """The migrations: ``--migrations-dir`` when given, else the bundled ones."""
    from gordon_migrate.core import bundle

    return bundle.load(settings.migrations_dir)
