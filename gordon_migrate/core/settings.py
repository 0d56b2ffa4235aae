"""What a run is pointed at, and every setting of the tool, resolved here without click.

The CLI fills a ``Settings`` from its options (``gordon_migrate.cli.options``); anything else
that embeds the tool builds one directly. Like Alembic's ``Config``: plain data, and functions
that turn it into a ``Dsn``, a bundle, a ``Target``.

This is the one module that reads the tool's environment: every variable below is resolved
by one function here (a flag, when there is one, wins over the variable, which wins over the
default), and the modules that use a setting receive its value. Not here, on purpose:

- libpq's own ``PG*`` variables (``PGPASSWORD``, ``PGSERVICE``, ...) are read by libpq at
  connect time; ``core/dsn.py`` reads the same ones only to learn which secrets to redact,
  and must see exactly what libpq will see.
- The OpenTelemetry SDK reads some ``OTEL_*`` itself (``OTEL_EXPORTER_OTLP_HEADERS``,
  ``OTEL_RESOURCE_ATTRIBUTES``), as its specification says; ``observe`` gets the others from
  ``otel_environment`` (whether to trace, which exporter, where to), not from ``os.environ``.
- ``GORDON_TEST_*`` belong to the pytest plugin (``gordon_migrate.testing``), which sets up
  the test servers before any run exists; the tool never reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.errors import ConfigError, GordonError


@dataclass(frozen=True)
class EnvVar:
    """One environment variable the tool reads: what it sets, and the value when unset."""

    name: str
    sets: str
    default: str


ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar("DATABASE_URL", "--database-url (never for lint and fixtures update: flag_url)", "none"),
    EnvVar("GORDON_NETWORK_TIMEOUT", "--network-timeout", "30s"),
    EnvVar("LOG_LEVEL", "--log-level", "info"),
    EnvVar("RUST_LOG", "--log-level when LOG_LEVEL is unset (its gordon_migrate level)", "info"),
    EnvVar("GORDON_EMBEDDED_DIR", "the data directory of the --embedded server", ".gordon/pg"),
    EnvVar("GORDON_EMBEDDED_PG", "the major version of the --embedded server (18 or 16)", "18"),
    EnvVar(
        "GORDON_CACHE_DIR",
        "where the pristine clusters that throwaway embedded servers copy are kept (one initdb "
        "per PostgreSQL major and binaries)",
        "$XDG_CACHE_HOME/gordon-migrate",
    ),
    EnvVar(
        "TMPDIR",
        "where a throwaway embedded server (a scratch) keeps its data",
        "/dev/shm when it has 1 GiB free, else the system's temporary directory",
    ),
    EnvVar(
        "XDG_CACHE_HOME", "the user's cache directory, under which GORDON_CACHE_DIR is", "~/.cache"
    ),
    EnvVar(
        "GORDON_SCRATCH_URL",
        "--scratch-url of apply, apply --dry-run and lint: where a migration the pinned plan "
        "lacks is rehearsed",
        "a throwaway embedded server",
    ),
    EnvVar("CI", "set (not 0, false, no): repair and unlock never prompt, need --yes", "unset"),
    EnvVar("OTEL_*", "apply's traces, as the OpenTelemetry specification defines them", "none"),
)
"""Every variable the tool reads (the README lists them too); ``OTEL_*`` is a family."""

EMBEDDED_DIR = Path(".gordon") / "pg"
EMBEDDED_VERSIONS = (18, 16)
EMBEDDED_VERSION = EMBEDDED_VERSIONS[0]
NETWORK_TIMEOUT_ENV = "GORDON_NETWORK_TIMEOUT"
SCRATCH_URL_ENV = "GORDON_SCRATCH_URL"


def _process_environment() -> Mapping[str, str]:
    return os.environ


@dataclass
class Settings:
    """The common options, merged from before and after the command name, and the
    environment they fall back on."""

    database_url: str | None = None
    embedded: bool = False
    migrations_dir: Path | None = None
    log_level: str | None = None
    log_format: str | None = None
    network_timeout_ms: int | None = None
    environ: Mapping[str, str] = field(
        default_factory=_process_environment, repr=False, compare=False
    )
    """Where the variables of ``ENVIRONMENT`` are read: the process's, unless given."""


@dataclass(frozen=True)
class Target:
    """What a run points at: the database, the migrations, the drift fixtures to compare with.

    Built by ``resolve_target``, which keeps a part that could not be resolved as its error (the
    part is then None): ``diagnose`` reports it as its configuration step. A command that
    cannot go on without both resolves them with ``resolve_dsn`` and ``load_bundle``.
    """

    dsn: Dsn | None = None
    bundle: tuple[Migration, ...] | None = None
    fixtures_dir: Path | None = None
    dsn_error: GordonError | None = None
    bundle_error: GordonError | None = None

    def required_dsn(self) -> Dsn:
        """The database, or the error that kept it unresolved."""
        if self.dsn is None:
            raise self.dsn_error or ConfigError("no database resolved")
        return self.dsn

    def required_bundle(self) -> tuple[Migration, ...]:
        """The migrations, or the error that kept them unread."""
        if self.bundle is None:
            raise self.bundle_error or ConfigError("no migrations loaded")
        return self.bundle


def resolve_target(settings: Settings, fixtures_dir: Path | None = None) -> Target:
    """Resolve the DSN and load the bundle; an expected failure of either is kept, not raised."""
    dsn: Dsn | None = None
    bundle: tuple[Migration, ...] | None = None
    dsn_error = bundle_error = None
    try:
        dsn = resolve_dsn(settings)
    except GordonError as exc:
        dsn_error = exc
    try:
        bundle = tuple(load_bundle(settings))
    except GordonError as exc:
        bundle_error = exc
    return Target(dsn, bundle, fixtures_dir, dsn_error, bundle_error)


def database_url(settings: Settings) -> str | None:
    """``--database-url``, else ``DATABASE_URL``; None when neither is given."""
    if settings.database_url is not None:
        return settings.database_url
    return settings.environ.get("DATABASE_URL")


def network_timeout_s(settings: Settings) -> float | None:
    """The network timeout asked for, in seconds (None: the default)."""
    if settings.network_timeout_ms is not None:
        return settings.network_timeout_ms / 1000.0
    raw = settings.environ.get(NETWORK_TIMEOUT_ENV)
    if raw is None or not raw.strip():
        return None
    from gordon_migrate.core.durations import parse_ms

    return parse_ms(raw, NETWORK_TIMEOUT_ENV) / 1000.0


def resolve_dsn(settings: Settings) -> Dsn:
    """The target: ``--embedded`` when asked, else ``--database-url``/``DATABASE_URL``,
    with the network timeout asked for. Never a guess."""
    from gordon_migrate.core import dsn

    if settings.embedded:
        if settings.database_url is not None:
            raise ConfigError("--embedded and --database-url exclude each other: choose one")
        from gordon_migrate.core import embedded

        server = embedded.start(embedded_dir(settings), embedded_version(settings))
        target = dsn.parse(embedded.ensure_database(server))
    else:
        url = database_url(settings)
        if url is None:
            raise ConfigError(
                "no database given: pass --database-url URL or set DATABASE_URL "
                "(e.g. postgresql://gordon_migrator@db:5432/gordon), or use --embedded "
                "for a local embedded Postgres",
                failure_mode="FM-01",
            )
        target = dsn.parse(url)
    timeout = network_timeout_s(settings)
    return target if timeout is None else replace(target, network_timeout_s=timeout)


def scratch_url(settings: Settings, flag: str | None) -> str | None:
    """The scratch server of an on-the-fly rehearsal: ``--scratch-url``, else
    ``GORDON_SCRATCH_URL``; None: a throwaway embedded server."""
    return flag if flag is not None else (settings.environ.get(SCRATCH_URL_ENV) or None)


def flag_url(settings: Settings) -> str | None:
    """The database named on the command line (``--database-url``) only: ``DATABASE_URL``
    is never read. For commands to which a database is optional (``lint``'s live checks,
    ``fixtures update``'s scratch server): a deploy job's ``DATABASE_URL`` names production,
    and these must never reach it because the variable happened to be set."""
    return settings.database_url


def load_bundle(settings: Settings) -> list[Migration]:
    """The migrations: ``--migrations-dir`` when given, else the bundled ones."""
    from gordon_migrate.core import bundle

    return bundle.load(settings.migrations_dir)


def log_level(settings: Settings) -> str:
    """``--log-level``, else ``LOG_LEVEL``, else ``RUST_LOG`` as the old deploys set it
    (``info``, ``gordon_migrate=debug,sqlx=warn``), else ``info``."""
    if settings.log_level:
        return settings.log_level
    env = settings.environ
    if env.get("LOG_LEVEL"):
        return env["LOG_LEVEL"]
    rust = env.get("RUST_LOG", "")
    for directive in rust.split(","):
        name, _, level = directive.strip().rpartition("=")
        if name in {"", "gordon_migrate", "gordon-migrate"} and level:
            return {"trace": "debug", "warn": "warning", "off": "error"}.get(level.lower(), level)
    return "info"


def embedded_dir(settings: Settings) -> Path:
    """Where the embedded server keeps its data: ``GORDON_EMBEDDED_DIR``, else ./.gordon/pg."""
    return Path(settings.environ.get("GORDON_EMBEDDED_DIR") or EMBEDDED_DIR)


def cache_dir(settings: Settings) -> Path:
    """The tool's own cache: ``GORDON_CACHE_DIR``, else ``gordon-migrate`` in the user's cache
    directory (``XDG_CACHE_HOME``, else ~/.cache). Only ever an accelerator: deleting it is
    always safe."""
    explicit = settings.environ.get("GORDON_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = settings.environ.get("XDG_CACHE_HOME") or str(Path("~") / ".cache")
    return Path(base).expanduser() / "gordon-migrate"


#: A RAM disk, where a throwaway embedded server's files are made and deleted without the
#: journal and fsync of a disk (the data is deleted after the run: nothing is lost at a crash).
RAM_DISK = Path("/dev/shm")
#: Left free there at least: a container's /dev/shm is often 64 MB, less than a scratch needs.
RAM_DISK_FREE = 1 << 30


def scratch_parent(settings: Settings, *, disk: bool = False) -> Path | None:
    """Where a throwaway embedded server keeps its data: ``TMPDIR`` when set, else the RAM
    disk when there is one with 1 GiB free, unless ``disk`` (a measurement of the disk's own
    speed); None: the system's temporary directory."""
    chosen = settings.environ.get("TMPDIR")
    if chosen:
        return Path(chosen)
    if disk:
        return None
    try:
        usage = os.statvfs(RAM_DISK)
    except OSError:
        return None
    if not os.access(RAM_DISK, os.W_OK) or usage.f_bavail * usage.f_frsize < RAM_DISK_FREE:
        return None
    return RAM_DISK


def embedded_version(settings: Settings) -> int:
    """The embedded server's major version: ``GORDON_EMBEDDED_PG``, else 18."""
    raw = settings.environ.get("GORDON_EMBEDDED_PG", str(EMBEDDED_VERSION))
    if not raw.isdigit() or int(raw) not in EMBEDDED_VERSIONS:
        raise ConfigError(f"GORDON_EMBEDDED_PG={raw!r}: the embedded Postgres is 18 or 16")
    return int(raw)


def in_ci(settings: Settings) -> bool:
    """``CI`` is set to anything but empty, 0, false or no (as CI services set it)."""
    return settings.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def otel_environment(settings: Settings) -> Mapping[str, str]:
    """The ``OTEL_*`` variables, for ``observe`` to read as the OpenTelemetry specification
    says (whether to trace, where to export)."""
    return {k: v for k, v in settings.environ.items() if k.startswith("OTEL_")}
