"""What a run is pointed at: the target database and the migrations, resolved without click.

The CLI fills a ``Settings`` from its options (``gordon_migrate.cli.options``); anything else
that embeds the tool builds one directly. Like Alembic's ``Config``: plain data, and functions
that turn it into a ``Dsn`` and a bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gordon_migrate.bundle import Migration
from gordon_migrate.dsn import Dsn


@dataclass
class Settings:
    """The common options, merged from before and after the command name."""

    database_url: str | None = None
    embedded: bool = False
    migrations_dir: Path | None = None
    log_level: str | None = None
    log_format: str | None = None


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
    """The migrations: ``--migrations-dir`` when given, else the bundled ones."""
    from gordon_migrate import bundle

    return bundle.load(settings.migrations_dir)
